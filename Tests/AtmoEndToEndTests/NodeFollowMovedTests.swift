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
        @Test("atmo pull follows the node to its new port when it is killed and restarted mid-pull, and succeeds")
        func restartedNodeIsFollowedToItsNewPort() async throws {
            try await withAtmoSandbox { sandbox in
                try await FollowedPull.run(in: sandbox, modelID: "epsilon.gguf", seed: 35) { pull in
                    // Killed: its node.json stays behind, naming a process that is gone.
                    pull.c.process.signal(SIGKILL)
                    #expect(await pull.c.process.waitForExit(timeout: 30) != nil)
                    #expect(pull.follower.isRunning, "the CLI waits for the node: \(pull.follower.standardError)")
                    let again = try await pull.restartC()
                    #expect(again.port != pull.c.port, "the OS chose another port")
                    _ = await pull.expectCompleted()
                }
            }
        }
    }
}
