import AtmoProtocol

extension StoragePlanner.Input {
    /// The storage as `GET /v1/storage` and `atmo storage` show it: every pulled model,
    /// least recently used first, and what a pull needing room would evict, in order (the
    /// evictable bytes count stale partials too, which go first).
    public var status: StorageAPI.Status {
        let order = StoragePlanner.evictionOrder(self)
        let evictable = Set(order.map(\.sha256))
        let stale = StoragePlanner.partialEvictionOrder(self).reduce(Int64(0)) { $0 + $1.sizeBytes }
        let models = self.models.sorted { ($0.lastUsedAt, $0.modelID) < ($1.lastUsedAt, $1.modelID) }.map { model in
            StorageAPI.Model(
                modelID: model.modelID, sha256: model.sha256, sizeBytes: model.sizeBytes, lastUsedAt: model.lastUsedAt,
                pinned: model.pinned, meshCopies: model.meshCopies, evictable: evictable.contains(model.sha256))
        }
        return StorageAPI.Status(
            limitBytes: limitBytes, usedBytes: usedBytes, partialBytes: partialBytes, diskFreeBytes: freeBytes, freeBytes: roomBytes,
            evictableBytes: order.reduce(0) { $0 + $1.sizeBytes } + stale, models: models, evictionOrder: order.map(\.modelID))
    }
}
