import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd.SwarmRelayEndToEnd {
    /// A swarm pull from an HTTP provider and a relay-only one whose relay dies mid-pull: the
    /// relayed pieces in flight fail at once as a lost link (not the peer's fault), go back to
    /// the other source, and the pull completes from it.
    @Test("a relay killed mid-pull: the relayed pieces in flight go to the HTTP provider at once, nobody blamed")
    func relayKilledMidPull() async throws {
        try await withAtmoSandbox { sandbox in
            let size = 32 * mebibyte
            let piece = PieceManifest.pieceSize(forFileSize: size)
            let id = "swarm-relay-loss.gguf"
            let (folderA, folderB) = (sandbox.path("a-models"), sandbox.path("b-models"))
            let sha256 = try ModelFixtures.writeModel(at: folderA + "/" + id, size: Int(size), seed: 49, header: .gguf)
            try FileManager.default.createDirectory(atPath: folderB, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: folderA + "/" + id, toPath: folderB + "/" + id)
            let relay = try await sandbox.relay(stateDirectory: sandbox.path("relay"))
            try await sandbox.makeMesh(name: "home", relay: relay.url, founderState: sandbox.path("a"), memberStates: [sandbox.path("b")])
            let portA = try HTTPProbe.unusedPort()
            // A over HTTP and B through the relay alone, each about 3 MiB/s to C: the relay
            // dies with the pull about a quarter done and relayed pieces in flight.
            try await withProxies([(portA, TCPProxy.Options(bytesPerSecond: 3 << 20)), (relay.port, TCPProxy.Options(bytesPerSecond: 3 << 20))]) {
                proxies in
                let (proxyA, relayForC) = (proxies[0], proxies[1])
                try await Self.join(sandbox, stateDirectory: sandbox.path("c"), relay: "ws://127.0.0.1:\(relayForC.port)")
                let a = try await sandbox.serve(
                    folders: [folderA], stateDirectory: sandbox.path("a"), port: portA, name: "a", readyModels: [id],
                    extraArguments: ["--advertise-url", proxyA.baseURL])
                let b = try await sandbox.serve(
                    folders: [folderB], stateDirectory: sandbox.path("b"), name: "b", readyModels: [id],
                    extraArguments: ["--advertise-url", Self.deadEndpoint])
                try await SwarmModel.waitForManifest(a, modelID: id)
                try await SwarmModel.waitForManifest(b, modelID: id)
                let c = try await sandbox.serve(
                    folders: [], stateDirectory: sandbox.path("c"), name: "c",
                    extraArguments: ["--advertise-url", Self.deadEndpoint, "--probe-interval", "0.5", "--log-level", "info"])
                try await c.waitForMesh("A over HTTP and B over the relay alone") { models in
                    guard let model = models.first(where: { $0.entry.modelID == id }), model.entry.manifestReference != nil else { return false }
                    let routes = model.providers.map { $0.transports ?? [] }
                    return routes.contains { $0.first == "http" } && routes.contains(["relay"])
                }
                let relayedBefore = relayForC.bytesToClients
                let pull = try sandbox.start(["pull", id, "--state-dir", c.stateDirectory, "--json"], name: "pull")
                // Killed once B has sent C two pieces through it: more are in flight.
                let deadline = Date().addingTimeInterval(60)
                while pull.isRunning, relayForC.bytesToClients - relayedBefore < 2 * piece, Date() < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(pull.isRunning, "the pull ended before the relay was killed")
                relay.process.signal(SIGKILL)
                _ = await relay.process.waitForExit(timeout: 10)
                let killed = Date()

                #expect(await pull.waitForExit(timeout: 120) == 0, "\(pull.standardError)")
                let seconds = Date().timeIntervalSince(killed)
                #expect(PullOutput(pull).result?.sha256 == sha256, "\(pull.standardOutputLines.suffix(1))")
                #expect(filesEqual(c.stateDirectory + "/models/" + id, folderA + "/" + id))
                let log = c.process.standardError
                print("SwarmRelayEndToEnd relay killed mid-pull: the pull ended \(String(format: "%.1f", seconds)) s after the kill")
                #expect(log.contains("pulling from the swarm"), "\(log.suffix(3000))")
                // The pieces in flight on B failed as a lost link, at once, and B was not
                // blamed for them (a dead relay is not B's fault).
                let lost = log.split(separator: "\n").filter { $0.contains("link to the peer was lost") }
                #expect(!lost.isEmpty, "\(log.suffix(4000))")
                #expect(lost.allSatisfy { $0.contains("relay") }, "\(lost)")
                let blamed = log.split(separator: "\n").filter { $0.contains("piece failed; the schedule retries it") && $0.contains("lost") }
                #expect(blamed.isEmpty, "\(blamed)")
            }
        }
    }
}
