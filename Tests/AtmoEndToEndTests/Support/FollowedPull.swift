import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

/// The mesh of the tests that follow `atmo pull` through a running node (NodeFollowMoved,
/// NodeFollowSuperseded): provider A offers one sparse model behind a proxy throttled to
/// `rate` (the address it advertises), so the pull lasts seconds; node C has A as its peer;
/// the CLI pulls the model through C and has 2 MiB of it when `body` runs.
struct FollowedPull: Sendable {
    let sandbox: AtmoSandbox
    let a: ServeProcess
    let c: ServeProcess
    /// `atmo pull <modelID> --state-dir <C's> --json`.
    let follower: AtmoProcess
    let modelID: String
    let sha256: String
    /// A's copy of the model.
    let source: String

    static let size: Int64 = 32 * mebibyte
    static let rate = 4 * 1024 * 1024

    /// Starts the mesh for `modelID` (sparse, of `seed`) with C on `portC` (0: the OS picks
    /// one), starts the pull, runs `body` once it has 2 MiB, and stops the proxy after.
    static func run(
        in sandbox: AtmoSandbox, modelID: String, seed: UInt64, portC: Int = 0, _ body: @Sendable (FollowedPull) async throws -> Void
    ) async throws {
        let folder = sandbox.path("offered")
        let sha256 = try ModelFixtures.writeSparseModel(at: folder + "/" + modelID, size: size, seed: seed)
        let portA = try HTTPProbe.unusedPort()
        try await TCPProxy.run(upstreamPort: portA, options: .init(bytesPerSecond: rate)) { proxy in
            let a = try await sandbox.serve(
                folders: [folder], stateDirectory: sandbox.path("a"), port: portA, name: "a", readyModels: [modelID],
                extraArguments: ["--advertise-url", proxy.baseURL])
            let c = try await sandbox.serve(
                folders: [], stateDirectory: sandbox.path("c"), port: portC, name: "c", extraArguments: ["--peer", a.baseURL])
            try await c.waitForMesh(modelID) { $0.contains { $0.entry.modelID == modelID } }
            let follower = try sandbox.start(["pull", modelID, "--state-dir", c.stateDirectory, "--json"], name: "follow")
            _ = try await waitForPullProgress(follower, atLeast: 2 * mebibyte)
            try await body(
                FollowedPull(
                    sandbox: sandbox, a: a, c: c, follower: follower, modelID: modelID, sha256: sha256, source: folder + "/" + modelID))
        }
    }

    /// C started again on its state folder (on `port`; 0: the OS picks one), as `name`.
    func restartC(port: Int = 0) async throws -> ServeProcess {
        try await sandbox.serve(folders: [], stateDirectory: c.stateDirectory, port: port, name: "c-again", extraArguments: ["--peer", a.baseURL])
    }

    /// The pull exits 0 with the model's SHA-256, and the file installed in C's state folder is A's.
    func expectCompleted() async -> PullOutput {
        #expect(await follower.waitForExit(timeout: 120) == 0, "\(follower.standardError)")
        let output = PullOutput(follower)
        #expect(output.result?.sha256 == sha256, "\(follower.standardOutputLines.suffix(2))")
        #expect(filesEqual(c.stateDirectory + "/models/" + modelID, source))
        return output
    }
}
