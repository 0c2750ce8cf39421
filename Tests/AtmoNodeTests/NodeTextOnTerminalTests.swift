import AtmoNode
import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

/// What other nodes say (model names gossiped through the mesh, a peer's name and address)
/// reaches `atmo models` and `atmo peers` as text: control characters as `?`, so no escape
/// sequence clears the screen or forges a row.
@Suite(.timeLimit(.minutes(2)))
struct NodeTextOnTerminalTests {
    static let escapes = "\u{1B}]0;PWNED\u{07}\u{1B}[2J\u{1B}[31mRED\r\u{1B}[Kfake"

    static func state(_ sandbox: AtmoSandbox) throws -> String {
        let state = sandbox.path("node")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        return state
    }

    static func expectPrintable(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let control = text.unicodeScalars.filter { $0.properties.generalCategory == .control && $0 != "\n" }
        #expect(control.isEmpty, "control characters on the terminal: \(text.debugDescription)", sourceLocation: sourceLocation)
    }

    @Test("atmo models shows a model name with escape codes as text")
    func modelNamesAreText() async throws {
        try await withAtmoSandbox(prefix: "atmo-text") { sandbox in
            let state = try Self.state(sandbox)
            let entry = ModelEntry(
                modelID: "nice-model", name: "nice" + Self.escapes, type: "llm", format: "gguf", sizeBytes: 1000,
                sha256: String(repeating: "ab", count: 32))
            let provider = MeshAPI.Provider(
                nodeID: "peer-1", nodeName: "evil" + Self.escapes, http: "http://127.0.0.1:9", transports: ["http"])
            let node = try await ScriptedLocalNode(stateDirectory: state) { method, path in
                guard method == "GET", path == MeshAPI.modelsPath else { return nil }
                return .json(MeshAPI.ModelList(models: [MeshAPI.Model(entry: entry, providers: [provider], installed: false)]))
            }
            do {
                let models = try await sandbox.run(["models", "--state-dir", state], name: "models")
                #expect(models.status == 0, "\(models.stderr)")
                #expect(models.stdout.contains("nice?]0;PWNED??[2J?[31mRED??[Kfake"), "\(models.stdout.debugDescription)")
                Self.expectPrintable(models.stdout)
            } catch {
                await node.stop()
                throw error
            }
            await node.stop()
        }
    }

    @Test("atmo peers shows a peer's name and address with escape codes as text")
    func peerNamesAreText() async throws {
        try await withAtmoSandbox(prefix: "atmo-text") { sandbox in
            let state = try Self.state(sandbox)
            let peer = MeshAPI.Peer(
                nodeID: "peer-1", nodeName: "evil" + Self.escapes, http: "http://127.0.0.1:9/" + Self.escapes, origin: "gossip",
                latencyMs: 1, activeTransfers: 0, reliability: 1, lastSeen: 0, modelCount: 1, transports: ["http" + Self.escapes])
            let node = try await ScriptedLocalNode(stateDirectory: state) { method, path in
                method == "GET" && path == MeshAPI.peersPath ? .json(MeshAPI.PeerList(peers: [peer])) : nil
            }
            do {
                let peers = try await sandbox.run(["peers", "--state-dir", state], name: "peers")
                #expect(peers.status == 0, "\(peers.stderr)")
                #expect(peers.stdout.contains("evil?]0;PWNED??[2J?[31mRED??[Kfake"), "\(peers.stdout.debugDescription)")
                Self.expectPrintable(peers.stdout)
            } catch {
                await node.stop()
                throw error
            }
            await node.stop()
        }
    }

    /// The catalogs the node refused show under the table (the latest few, the rest counted),
    /// as text: their origin and sender are what peers claimed.
    @Test("atmo peers lists the catalogs the node refused lately, with escape codes as text")
    func refusedCatalogsAreListedAsText() async throws {
        try await withAtmoSandbox(prefix: "atmo-text") { sandbox in
            let state = try Self.state(sandbox)
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let refused = [
                MeshAPI.RefusedCatalog(
                    origin: "big" + Self.escapes, sender: "10.0.0.9", reason: "over_origin_budget", bytes: 9_542_000, budget: 8 << 20,
                    refusedAt: now - 1000)
            ]
                + (0..<6).map { index in
                    MeshAPI.RefusedCatalog(
                        origin: "other-\(index)", sender: "pull:http://10.0.0.2:7070", reason: "no_room", bytes: 1000, budget: 4096,
                        refusedAt: now - 2000 - Int64(index))
                }
                // Over an hour ago: not shown.
                + [MeshAPI.RefusedCatalog(origin: "stale", sender: "10.0.0.9", reason: "no_room", bytes: 1, refusedAt: now - 7_200_000)]
            let node = try await ScriptedLocalNode(stateDirectory: state) { method, path in
                method == "GET" && path == MeshAPI.peersPath ? .json(MeshAPI.PeerList(peers: [], refusedCatalogs: refused)) : nil
            }
            do {
                let peers = try await sandbox.run(["peers", "--state-dir", state], name: "peers")
                #expect(peers.status == 0, "\(peers.stderr)")
                #expect(peers.stdout.contains("refused by this node's gossip limits in the last hour"), "\(peers.stdout)")
                #expect(
                    peers.stdout.contains("the catalog of node big?]0;PWNED??[2J?[31mRED??[Kfake, 9.1 MiB, over the 8.0 MiB per-origin budget, from 10.0.0.9"),
                    "\(peers.stdout.debugDescription)")
                #expect(peers.stdout.contains("other-3") && !peers.stdout.contains("other-4"), "five shown: \(peers.stdout)")
                #expect(peers.stdout.contains("and 2 more: `atmo peers --json`"), "\(peers.stdout)")
                #expect(!peers.stdout.contains("stale"), "\(peers.stdout)")
                Self.expectPrintable(peers.stdout)
            } catch {
                await node.stop()
                throw error
            }
            await node.stop()
        }
    }

    @Test("a /health answer far larger than a node's is no node's")
    func aHugeHealthIsNoNode() async throws {
        try await withAtmoSandbox(prefix: "atmo-text") { sandbox in
            let state = try Self.state(sandbox)
            let nodeID = "scripted-node-0001"
            let health = try WireCoding.encode(
                HTTPAPI.Health(modelsAvailable: 0, httpPort: 0, nodeID: nodeID, nodeName: "scripted", activeTransfers: 0, modelsHashing: 0))
            // Valid JSON, a real health, after 1 MiB of spaces: a node's /health is under 1 KiB.
            let padded = Data(repeating: UInt8(ascii: " "), count: 1 << 20) + health
            let node = try await ScriptedLocalNode(stateDirectory: state, nodeID: nodeID) { method, path in
                switch (method, path) {
                case ("GET", HTTPAPI.healthPath): return ScriptedLocalNode.Answer(body: padded)
                case ("GET", MeshAPI.peersPath): return .json(MeshAPI.PeerList(peers: []))
                default: return nil
                }
            }
            do {
                let peers = try await sandbox.run(["peers", "--state-dir", state], name: "peers")
                #expect(peers.status == 3, "\(peers.stdout) \(peers.stderr)")
                #expect(peers.stderr.contains("no node is running"), "\(peers.stderr)")
            } catch {
                await node.stop()
                throw error
            }
            await node.stop()
        }
    }
}
