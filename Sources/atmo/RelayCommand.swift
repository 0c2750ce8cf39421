import ArgumentParser

/// `atmo relay`: runs the WebSocket relay (filled in by the relay server work).
struct RelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "relay", abstract: "Run an Atmosphere WebSocket relay.")
    func run() async throws { throw ValidationError("atmo relay is not built yet") }
}
