import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// Three `atmo serve` processes in a line, A <- B <- C (each knows only the one before it
    /// through --peer; no multicast): catalogs travel transitively, and a stopping node's
    /// models leave the others' views.
    @Suite("mesh gossip")
    struct MeshGossip {
        @Test("C lists A's model through B; `atmo models` and `atmo peers` show the mesh; A's goodbye removes it")
        func transitiveGossipAndGoodbye() async throws {
            try await withAtmoSandbox { sandbox in
                let alphaPath = sandbox.path("a-models") + "/alpha.gguf"
                let alphaSHA = try ModelFixtures.writeModel(at: alphaPath, size: 300_000, seed: 11, header: .gguf)
                let betaPath = sandbox.path("b-models") + "/beta.gguf"
                _ = try ModelFixtures.writeModel(at: betaPath, size: 200_000, seed: 12, header: .gguf)

                let a = try await sandbox.serve(
                    folders: [sandbox.path("a-models")], stateDirectory: sandbox.path("a"), name: "a", readyModels: ["alpha.gguf"])
                // B and C probe their peers only at start (600 s apart): within the test only A's
                // goodbye can take its models out of their views, not failed probes.
                let b = try await sandbox.serve(
                    folders: [sandbox.path("b-models")], stateDirectory: sandbox.path("b"), name: "b", readyModels: ["beta.gguf"],
                    extraArguments: ["--peer", a.baseURL, "--probe-interval", "600"])
                let c = try await sandbox.serve(
                    folders: [], stateDirectory: sandbox.path("c"), name: "c",
                    extraArguments: ["--peer", b.baseURL, "--probe-interval", "600"])
                let aID = try #require(await a.health()?.nodeID)

                // C never talks to A directly before it learns of A through B.
                let seen = try await c.waitForMesh("alpha and beta") { models in
                    Set(models.map(\.entry.modelID)).isSuperset(of: ["alpha.gguf", "beta.gguf"])
                }
                let alpha = try #require(seen.first { $0.entry.modelID == "alpha.gguf" })
                #expect(alpha.entry.sha256 == alphaSHA)
                #expect(alpha.providers.map(\.nodeID) == [aID])
                #expect(alpha.providers.first?.http == a.baseURL)
                #expect(!alpha.installed)
                // A learns of C's (empty) catalog the same way and lists B's model.
                try await a.waitForMesh("beta at A") { $0.contains { $0.entry.modelID == "beta.gguf" } }

                // The CLI asks the running node of its state folder.
                let models = try await sandbox.run(["models", "--state-dir", c.stateDirectory, "--json"], name: "models")
                #expect(models.status == 0, "\(models.stderr)")
                let list = try JSONDecoder().decode(MeshAPI.ModelList.self, from: Data(models.stdout.utf8))
                #expect(list.models.map(\.entry.modelID).sorted() == ["alpha.gguf", "beta.gguf"])
                let filtered = try await sandbox.run(["models", "--state-dir", c.stateDirectory, "--search", "alp"], name: "models-search")
                #expect(filtered.stdout.contains("alpha.gguf") && !filtered.stdout.contains("beta.gguf"), "\(filtered.stdout)")

                let peers = try await sandbox.run(["peers", "--state-dir", c.stateDirectory, "--json"], name: "peers")
                #expect(peers.status == 0, "\(peers.stderr)")
                let peerList = try JSONDecoder().decode(MeshAPI.PeerList.self, from: Data(peers.stdout.utf8))
                let byURL = Dictionary(peerList.peers.map { ($0.http ?? "", $0.origin) }, uniquingKeysWith: { first, _ in first })
                #expect(byURL[b.baseURL] == "configured", "\(peerList)")
                #expect(byURL[a.baseURL] == "gossip", "\(peerList)")

                // A stops cleanly: its goodbye (an empty catalog) spreads, long before its TTL.
                a.process.signal(SIGTERM)
                #expect(await a.process.waitForExit(timeout: 30) == 0)
                try await c.waitForMesh("alpha gone after A's goodbye", timeout: 60) { models in
                    !models.contains { $0.entry.modelID == "alpha.gguf" } && models.contains { $0.entry.modelID == "beta.gguf" }
                }
            }
        }

        @Test("a node killed with -9 (no goodbye) leaves the others' view after three failed probes")
        func killedNodeDropsOut() async throws {
            try await withAtmoSandbox { sandbox in
                _ = try ModelFixtures.writeModel(at: sandbox.path("a-models") + "/alpha.gguf", size: 100_000, seed: 13, header: .gguf)
                let a = try await sandbox.serve(
                    folders: [sandbox.path("a-models")], stateDirectory: sandbox.path("a"), name: "a", readyModels: ["alpha.gguf"])
                let c = try await sandbox.serve(
                    folders: [], stateDirectory: sandbox.path("c"), name: "c",
                    extraArguments: ["--peer", a.baseURL, "--probe-interval", "0.3"])
                try await c.waitForMesh("alpha") { $0.contains { $0.entry.modelID == "alpha.gguf" } }
                a.process.signal(SIGKILL)
                _ = await a.process.waitForExit(timeout: 10)
                // Three failed probes 0.3 s apart, long before the 300 s TTL would expire it.
                try await c.waitForMesh("alpha gone after A was killed", timeout: 60) { models in
                    !models.contains { $0.entry.modelID == "alpha.gguf" }
                }
                let peers = try #require(await c.meshPeers())
                #expect(peers.contains { $0.http == a.baseURL && $0.nodeID.isEmpty && $0.origin == "configured" }, "kept to retry: \(peers)")
            }
        }

        @Test("without a running node, `atmo models` and `atmo peers` say how to start one (exit 3)")
        func noNodeRunning() async throws {
            try await withAtmoSandbox { sandbox in
                let models = try await sandbox.run(["models", "--state-dir", sandbox.path("idle")], name: "models")
                #expect(models.status == 3)
                #expect(models.stderr.contains("atmo serve"), "\(models.stderr)")
                let peers = try await sandbox.run(["peers", "--state-dir", sandbox.path("idle"), "--json"], name: "peers")
                #expect(peers.status == 3)
                #expect(peers.stdout.contains("no_node"), "\(peers.stdout)")
            }
        }
    }
}
