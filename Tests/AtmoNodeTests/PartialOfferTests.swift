import AtmoMesh
import AtmoNode
import AtmoProtocol
import AtmoTesting
import AtmoTransfer
import Foundation
import Testing

@testable import AtmoNode

/// Partial offers in the mesh (issue 10): a node that is pulling a file offers it at once as
/// partial, and the sources of a pull include partial holders, after the complete providers.
@Suite(.timeLimit(.minutes(2)))
struct PartialOfferTests {
    static let sha = String(repeating: "c", count: 64)
    static let pieceSize: Int64 = 1 << 20

    static let entry = ModelEntry(
        modelID: "pulling.gguf", name: "pulling", type: "llm", format: "gguf", sizeBytes: 3 * pieceSize, sha256: sha,
        pieceSize: pieceSize, piecesSHA256: String(repeating: "d", count: 64))

    static func provider(_ id: String, http: String?, transports: [String]?, partial: Bool = false) -> MeshAPI.Provider {
        MeshAPI.Provider(nodeID: id, nodeName: id, http: http, transports: transports, partial: partial)
    }

    @Test func partialHoldersComeAfterTheCompleteProvidersOfEachKind() throws {
        let model = MeshAPI.Model(
            entry: Self.entry,
            providers: [
                Self.provider("p1", http: "http://10.0.0.11:1", transports: ["http", "websocket", "relay"], partial: true),
                Self.provider("c1", http: "http://10.0.0.1:1", transports: ["http", "websocket"]),
                Self.provider("p2", http: nil, transports: ["relay"], partial: true),
                Self.provider("c2", http: "http://10.0.0.2:2", transports: ["relay"]),  // endpoint failing
            ],
            installed: false)
        guard case .pull(let plan) = SourcePlanner.plan(modelID: Self.entry.modelID, versions: [model]) else {
            Issue.record("expected a plan")
            return
        }
        #expect(
            plan.sources.map(\.baseURL) == [
                "http://10.0.0.1:1", "http://10.0.0.11:1", "ws://10.0.0.1:1/v1/transfers/ws", "ws://10.0.0.11:1/v1/transfers/ws",
                "relay://c2", "relay://p1", "relay://p2", "http://10.0.0.2:2",
            ])
        #expect(plan.sources.map(\.partial) == [false, true, false, true, false, true, true, false])
        // A model only partial holders offer is still pulled, from them.
        let swarmOnly = MeshAPI.Model(
            entry: Self.entry, providers: [Self.provider("p1", http: "http://10.0.0.11:1", transports: ["http"], partial: true)],
            installed: false)
        guard case .pull(let only) = SourcePlanner.plan(modelID: Self.entry.modelID, versions: [swarmOnly]) else {
            Issue.record("expected a plan from the partial holder")
            return
        }
        #expect(only.sources.map(\.partial) == [true])
    }

    @Test func partialIsNotPartOfASourcesIdentityAndIsOmittedFromTheViewWhenFalse() throws {
        var partial = PullSource(baseURL: "http://10.0.0.1:1", nodeID: "n1")
        partial.partial = true
        #expect(partial == PullSource(baseURL: "http://10.0.0.1:1", nodeID: "n1"))
        #expect(Set([partial, PullSource(baseURL: "http://10.0.0.1:1", nodeID: "n1")]).count == 1)
        let whole = String(decoding: try WireCoding.encode(Self.provider("c", http: nil, transports: [])), as: UTF8.self)
        #expect(!whole.contains("partial"))
        let held = String(decoding: try WireCoding.encode(Self.provider("p", http: nil, transports: [], partial: true)), as: UTF8.self)
        #expect(held.contains(#""partial":true"#))
    }

    /// Polls node `port`'s mesh view until `done` holds for the providers of
    /// `pulling.gguf` (nil when the view lists no such model), for at most 60 s (a hang guard:
    /// it returns as soon as `done` holds).
    static func waitForView(port: Int, _ done: ([MeshAPI.Provider]?) -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let list = await HTTPProbe.getJSON(MeshAPI.ModelList.self, port: port, path: MeshAPI.modelsPath) {
                let providers = list.models.first { $0.entry.modelID == entry.modelID }?.providers
                if done(providers) { return true }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    @Test func aNodePullingAFileIsAPartialProviderInAnotherNodesViewUntilItsOfferEnds() async throws {
        try await withTemporaryDirectory { directory in
            try await withMeshNode(stateDirectory: directory.sub("a"), folders: []) { a in
                try await withMeshNode(stateDirectory: directory.sub("b"), folders: []) { configuration in
                    configuration.mesh.peers = [a.baseURL]
                } _: { b in
                    let manifest = try #require(
                        PieceManifest(fileSize: Self.entry.sizeBytes, pieceSize: Self.pieceSize, digests: [UInt8](repeating: 7, count: 96)))
                    a.node.partialOffers.begin(
                        entry: Self.entry, manifest: manifest, partialPath: directory.sub("a") + "/pulling.part", held: Bitfield(count: 3))
                    let shown = try await Self.waitForView(port: b.port) { providers in
                        providers?.count == 1 && providers?.first?.nodeID == a.node.nodeID && providers?.first?.partial == true
                    }
                    #expect(shown, "B's view lists A as a partial provider of the file A is pulling")
                    // A's own view does not list itself as a provider.
                    let own = await HTTPProbe.getJSON(MeshAPI.ModelList.self, port: a.port, path: MeshAPI.modelsPath)
                    #expect(own?.models.first { $0.entry.modelID == Self.entry.modelID }?.providers.isEmpty == true)

                    a.node.partialOffers.end(sha256: Self.sha)
                    let gone = try await Self.waitForView(port: b.port) { providers in providers == nil }
                    #expect(gone, "the offer ended: B's view no longer lists the file")
                }
            }
        }
    }
}
