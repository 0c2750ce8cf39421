import AtmoProtocol

@testable import AtmoMesh

/// Catalogs, entries and gossip nodes for the mesh tests. Peers are plain strings
/// ("peer-<node id>"), derived from a catalog's origin.
enum MeshFixtures {
    static let start: Int64 = 1_760_000_000_000

    static func sha(_ character: Character) -> String { String(repeating: character, count: 64) }

    static func entry(
        _ id: String, sha: Character = "a", type: String = "llm", format: String = "gguf", name: String? = nil,
        capabilities: [String] = ["chat"], sourceRef: String = "local", size: Int64 = 1000
    ) -> ModelEntry {
        ModelEntry(
            modelID: id, name: name ?? id, type: type, format: format, sizeBytes: size, sha256: Self.sha(sha),
            capabilities: capabilities, sourceRef: sourceRef)
    }

    static func catalog(
        _ nodeID: String, at timestamp: Int64, models: [ModelEntry] = [], ttl: Int64 = 300, hops: Int? = nil,
        http: String? = nil
    ) -> ModelCatalog {
        let url = http ?? "http://\(nodeID).lan:14750"
        var catalog = ModelCatalog(
            nodeID: nodeID, nodeName: "name-\(nodeID)", timestamp: timestamp, models: models,
            transferEndpoints: .init(http: url), ttlSeconds: ttl)
        catalog.gossipHops = hops
        return catalog
    }

    static func peer(_ nodeID: String) -> String { "peer-\(nodeID)" }

    static func node(
        _ nodeID: String = "self", peers: [String] = [], configuration: GossipConfiguration = GossipConfiguration(),
        seed: UInt64 = 7
    ) -> GossipState<String> {
        var state = GossipState<String>(
            nodeID: nodeID, nodeName: "name-\(nodeID)", transferEndpoints: .init(http: "http://\(nodeID).lan:14750"),
            models: [entry("own-model")], configuration: configuration, random: SplitMix64(seed: seed),
            peerAddress: { $0.transferEndpoints.http == nil ? nil : peer($0.nodeID) })
        for name in peers { _ = state.peerDiscovered(peer(name), now: start) }
        return state
    }
}

extension Array where Element == GossipAction<String> {
    /// The pushes among the actions, as (catalog, peer).
    var pushes: [(catalog: ModelCatalog, peer: String)] {
        compactMap { if case .push(let catalog, let peer) = $0 { (catalog, peer) } else { nil } }
    }

    var pulls: [String] { compactMap { if case .pull(let peer) = $0 { peer } else { nil } } }

    var learned: [ModelCatalog] { compactMap { if case .learned(let catalog) = $0 { catalog } else { nil } } }

    var forgotten: [String] { compactMap { if case .forgot(let nodeID) = $0 { nodeID } else { nil } } }
}
