import ArgumentParser

@main
struct Atmo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atmo",
        abstract: "Share machine-learning model files across an Atmosphere mesh.",
        discussion: """
            A node offers the models it holds (LlamaFarm, the Hugging Face cache, extra folders \
            and what it pulled) over HTTP; other nodes pull them straight from it, verified \
            byte for byte and resumable after any interruption.

            Exit codes: 0 success; 1 unexpected failure; 3 peer unreachable or stalled; \
            4 model not offered or not installed; 5 verification failed or the peer's copy \
            changed; 6 local storage problem (disk full, permission denied); 7 already being \
            downloaded by another process; 64 bad usage; 130 interrupted (a pull resumes).
            """,
        subcommands: [
            ServeCommand.self, PullCommand.self, ModelsCommand.self, PeersCommand.self, DownloadsCommand.self, CancelCommand.self,
            DiscoverCommand.self, ListCommand.self,
            VerifyCommand.self, RemoveCommand.self, MeshCommand.self, RelayCommand.self, HashCommand.self,
            StorageCommand.self, PinCommand.self, UnpinCommand.self, UseCommand.self,
            LimitCommand.self, OpenCommand.self,
            FollowCommand.self, UnfollowCommand.self, FollowsCommand.self, UpdateCommand.self, RollbackCommand.self,
        ]
    )

    static func main() async {
        MemoryTuning.apply()
        await main(nil)
    }
}
