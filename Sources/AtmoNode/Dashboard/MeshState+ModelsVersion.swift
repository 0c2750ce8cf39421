import AtmoMesh

extension MeshState {
    /// The version of the mesh's model list alone (`models_version` of the dashboard's
    /// `mesh` event): it moves when a node's models, repositories or partial files changed,
    /// not when a peer's latency or last-seen time did.
    var modelsVersion: UInt64 { state.withLock { $0.catalog.modelsRevision } }
}
