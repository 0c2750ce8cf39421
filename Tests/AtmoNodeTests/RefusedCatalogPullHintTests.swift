import AtmoNode
import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

/// A node whose gossip refused a peer's catalog says so where a user looks (hostile review of
/// dec07h F10 follow-up): a pull of a model only that catalog offered still fails
/// `not_offered`, but its message counts the refused catalogs and names the largest (the node's
/// download queue, and `atmo pull` through the node), and `GET /v1/mesh/peers` lists the
/// refusal beside the peer it concerns.
@Suite(.timeLimit(.minutes(2)))
struct RefusedCatalogPullHintTests {
    @Test func aPullOfAModelOnlyARefusedCatalogOfferedSaysTheCatalogWasRefused() async throws {
        try await withAtmoSandbox(prefix: "atmo-refused") { sandbox in
            let offered = sandbox.path("offered")
            try FileManager.default.createDirectory(atPath: offered, withIntermediateDirectories: true)
            _ = try ModelFixtures.writeModel(at: offered + "/only-there.gguf", size: 200_000, seed: 3, header: .gguf)
            try await withMeshNode(stateDirectory: sandbox.path("provider"), folders: [offered]) { a in
                // The consumer holds at most 256 bytes of one node's catalog: the provider's is larger.
                try await withMeshNode(stateDirectory: sandbox.path("consumer"), folders: []) { configuration in
                    configuration.mesh.peers = [a.baseURL]
                    configuration.mesh.gossip.maxBytesPerOrigin = 256
                    configuration.waitForProvidersSeconds = 0.5
                } _: { b in
                    let providerID = a.node.nodeID
                    var refusal: MeshAPI.RefusedCatalog?
                    let seen = try await eventually(timeout: .seconds(30)) {
                        let list = try await Self.peers(b)
                        refusal = list.peers.first { $0.nodeID == providerID }?.refusedCatalogs?.first
                        return refusal != nil
                    }
                    #expect(seen, "the provider's refused catalog shows beside it in /v1/mesh/peers")
                    #expect(refusal?.origin == providerID)
                    #expect(refusal?.reason == "over_origin_budget")
                    #expect(refusal?.budget == 256)
                    #expect((refusal?.bytes ?? 0) > 256)
                    #expect(try await Self.peers(b).refusedCatalogs?.contains { $0.origin == providerID } == true)

                    let id = try b.node.download(modelID: "only-there.gguf")
                    let failed = try await eventually(timeout: .seconds(30)) {
                        try await DownloadQueueTests.status(b, id)?.state == "failed"
                    }
                    #expect(failed)
                    let status = try await DownloadQueueTests.status(b, id)
                    #expect(status?.errorCode == "not_offered", "the code scripts match stays")
                    let message = status?.error ?? ""
                    #expect(message.contains("1 peer catalog was refused by this node's gossip limits"), "\(message)")
                    #expect(message.contains("the catalog of node \(providerID)"), "\(message)")
                    #expect(message.contains("over the 256 bytes per-origin budget"), "\(message)")
                    // The provider is a known peer with an HTTP endpoint: the hint says how to pull from it directly.
                    let direct = "pull it from that node directly: `atmo pull only-there.gguf --from http://127.0.0.1:"
                    #expect(message.contains(direct), "\(message)")

                    // `atmo pull` through the node refuses at once, with the same hint and code.
                    let pulled = try await sandbox.run(["pull", "only-there.gguf", "--state-dir", sandbox.path("consumer")], name: "pull")
                    #expect(pulled.status == 4, "not found, as before: \(pulled.stderr)")
                    #expect(pulled.stderr.contains("no node of the mesh offers only-there.gguf"), "\(pulled.stderr)")
                    #expect(pulled.stderr.contains("1 peer catalog was refused by this node's gossip limits"), "\(pulled.stderr)")
                    #expect(pulled.stderr.contains("the catalog of node \(providerID)"), "\(pulled.stderr)")
                    #expect(pulled.stderr.contains(direct), "\(pulled.stderr)")
                    let json = try await sandbox.run(
                        ["pull", "only-there.gguf", "--json", "--state-dir", sandbox.path("consumer")], name: "pull-json")
                    #expect(json.stdout.contains("not_offered") || json.stderr.contains("not_offered"), "\(json.stdout) \(json.stderr)")

                    // A repository pull says it too: queued, and `atmo pull org/name` (streamed by the node).
                    let request = #"{"repo_id": "acme/refused", "kind": "repository"}"#
                    let started = try await Client.post(b.baseURL + DownloadAPI.path, json: request)
                    #expect(started.status == 202, "\(started.text)")
                    let repository = try JSONDecoder().decode(DownloadAPI.Started.self, from: Data(started.body)).requestID
                    let ended = try await eventually(timeout: .seconds(30)) {
                        try await DownloadQueueTests.status(b, repository)?.state == "failed"
                    }
                    #expect(ended)
                    let repositoryStatus = try await DownloadQueueTests.status(b, repository)
                    #expect(repositoryStatus?.errorCode == "not_offered")
                    let repositoryMessage = repositoryStatus?.error ?? ""
                    #expect(repositoryMessage.contains("1 peer catalog was refused"), "\(repositoryMessage)")
                    let streamed = try await sandbox.run(
                        ["pull", "acme/refused", "--state-dir", sandbox.path("consumer")], name: "pull-repo")
                    #expect(streamed.status == 4, "\(streamed.stderr)")
                    #expect(streamed.stderr.contains("no other node of the mesh offers the repository"), "\(streamed.stderr)")
                    #expect(streamed.stderr.contains("1 peer catalog was refused"), "\(streamed.stderr)")
                }
            }
        }
    }

    static func peers(_ node: RunningNode) async throws -> MeshAPI.PeerList {
        let answer = try await Client.get(node.baseURL + MeshAPI.peersPath)
        return try JSONDecoder().decode(MeshAPI.PeerList.self, from: Data(answer.body))
    }
}
