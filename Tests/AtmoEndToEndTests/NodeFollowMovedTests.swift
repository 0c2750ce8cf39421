import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension EndToEnd {
    /// `atmo pull` through the running node finds the node through its `node.json`; a node
    /// killed mid-pull and started again on a port the OS chose is followed at its new
    /// address (the file names it), and the pull completes.
    @Suite("a pull followed through a node that restarts on another port")
    struct NodeFollowMoved {
        static let size: Int64 = 32 * mebibyte
        static let rate = 4 * 1024 * 1024

        @Test("atmo pull follows the node to its new port when it is killed and restarted mid-pull, and succeeds")
        func restartedNodeIsFollowedToItsNewPort() async throws {
            try await withAtmoSandbox { sandbox in
                let folder = sandbox.path("offered")
                let sha = try ModelFixtures.writeSparseModel(at: folder + "/epsilon.gguf", size: Self.size, seed: 35)
                let portA = try HTTPProbe.unusedPort()
                // The provider answers through a throttled proxy: the pull lasts seconds.
                try await TCPProxy.run(upstreamPort: portA, options: .init(bytesPerSecond: Self.rate)) { proxy in
                    let a = try await sandbox.serve(
                        folders: [folder], stateDirectory: sandbox.path("a"), port: portA, name: "a", readyModels: ["epsilon.gguf"],
                        extraArguments: ["--advertise-url", proxy.baseURL])
                    let c = try await sandbox.serve(
                        folders: [], stateDirectory: sandbox.path("c"), name: "c", extraArguments: ["--peer", a.baseURL])
                    try await c.waitForMesh("epsilon") { $0.contains { $0.entry.modelID == "epsilon.gguf" } }

                    let follower = try sandbox.start(["pull", "epsilon.gguf", "--state-dir", c.stateDirectory, "--json"], name: "follow")
                    _ = try await waitForPullProgress(follower, atLeast: 2 * mebibyte)
                    // Killed: its node.json stays behind, naming a process that is gone.
                    c.process.signal(SIGKILL)
                    #expect(await c.process.waitForExit(timeout: 30) != nil)
                    #expect(follower.isRunning, "the CLI waits for the node: \(follower.standardError)")
                    let again = try await sandbox.serve(
                        folders: [], stateDirectory: c.stateDirectory, name: "c-again", extraArguments: ["--peer", a.baseURL])
                    #expect(again.port != c.port, "the OS chose another port")

                    #expect(await follower.waitForExit(timeout: 120) == 0, "\(follower.standardError)")
                    let output = PullOutput(follower)
                    #expect(output.result?.sha256 == sha, "\(follower.standardOutputLines.suffix(2))")
                    #expect(filesEqual(again.stateDirectory + "/models/epsilon.gguf", folder + "/epsilon.gguf"))
                }
            }
        }
    }
}
