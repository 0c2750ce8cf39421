import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// Two nodes whose HTTP endpoints cannot be reached (each advertises a dead port, and
    /// neither knows the other) meet on `atmo relay`: the founder registers the mesh, the
    /// member joins with its invite, and each lists the other's models through the relay.
    @Suite("relayed mesh")
    struct RelayedMesh {
        static let deadEndpoint = "http://127.0.0.1:1"

        @Test("catalogs travel through the relay; the peers show the relay as their transport")
        func catalogsThroughTheRelay() async throws {
            try await withAtmoSandbox { sandbox in
                let alphaPath = sandbox.path("a-models") + "/alpha.gguf"
                let alphaSHA = try ModelFixtures.writeModel(at: alphaPath, size: 300_000, seed: 21, header: .gguf)
                let relay = try await sandbox.relay(stateDirectory: sandbox.path("relay"))
                try await sandbox.makeMesh(
                    name: "home", relay: relay.url, founderState: sandbox.path("a"), memberStates: [sandbox.path("b")])

                let a = try await sandbox.serve(
                    folders: [sandbox.path("a-models")], stateDirectory: sandbox.path("a"), name: "a", readyModels: ["alpha.gguf"],
                    extraArguments: ["--advertise-url", Self.deadEndpoint, "--probe-interval", "0.5"])
                let b = try await sandbox.serve(
                    folders: [], stateDirectory: sandbox.path("b"), name: "b",
                    extraArguments: ["--advertise-url", Self.deadEndpoint, "--probe-interval", "0.5"])
                let aID = try #require(await a.health()?.nodeID)
                let bID = try #require(await b.health()?.nodeID)

                let seen = try await b.waitForMesh("alpha through the relay") { models in
                    models.contains { $0.entry.modelID == "alpha.gguf" && $0.providers.first?.transports?.contains("relay") == true }
                }
                let alpha = try #require(seen.first { $0.entry.modelID == "alpha.gguf" })
                #expect(alpha.entry.sha256 == alphaSHA)
                #expect(alpha.providers.map(\.nodeID) == [aID])

                // The relay lists both peers; A sees B as a relay peer too.
                let peers = try #require(await b.meshPeers())
                let viaA = try #require(peers.first { $0.nodeID == aID }, "\(peers)")
                #expect(viaA.transports?.contains("relay") == true, "\(viaA)")
                try await waitUntil("A lists B as a relay peer") {
                    await a.meshPeers()?.contains { $0.nodeID == bID && $0.transports?.contains("relay") == true } == true
                }
                let stats = try #require(await HTTPProbe.get(port: relay.port, path: "/stats"))
                let statsObject = try JSONSerialization.jsonObject(with: stats.body) as? [String: Any]
                #expect(statsObject?["peers"] as? Int == 2, "\(String(decoding: stats.body, as: UTF8.self))")

                // A leaves: the relay tells B, whose view drops A's models (A's endpoint never answered).
                a.process.signal(SIGTERM)
                #expect(await a.process.waitForExit(timeout: 30) == 0)
                try await b.waitForMesh("alpha gone once A left the relay", timeout: 60) { models in
                    !models.contains { $0.entry.modelID == "alpha.gguf" }
                }
            }
        }
    }
}

/// Polls `condition` every 100 ms until it holds; throws after `timeout` seconds.
func waitUntil(_ what: String, timeout: Double = 30, _ condition: @Sendable () async -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if await condition() { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw ProcessFailure(message: "\(what): not within \(timeout) s")
}
