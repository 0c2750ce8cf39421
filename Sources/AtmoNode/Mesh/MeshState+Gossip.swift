import AtmoMesh

extension MeshState {
    /// Bytes of the catalogs learned by gossip that are held now (their `heldSize`), as the
    /// gossip byte budgets count them (`GossipConfiguration.maxLearnedBytes`).
    var learnedCatalogBytes: Int { state.withLock { $0.gossip.heldBytes } }
}

extension MeshNode {
    /// Bytes of other nodes' catalogs this node holds now, as its gossip budget counts them
    /// (at most `GossipConfiguration.maxLearnedBytes`; docs/MESH.md, "Memory").
    public var learnedCatalogBytes: Int { mesh.learnedCatalogBytes }
}
