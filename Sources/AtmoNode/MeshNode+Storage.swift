import AtmoProtocol
import AtmoStore

/// The storage of the node's pulled models, for apps embedding a node (the same as
/// `atmo storage`, `atmo pin`, `atmo unpin`, `atmo use` and `StorageAPI`).
extension MeshNode {
    /// The pulled models and partials against the limit, and the eviction order.
    public func storageStatus() async throws -> StorageAPI.Status {
        let storage = self.storage
        return try await BlockingIO.run { try storage.status() }
    }

    /// Protects `modelID` from eviction (it need not be pulled yet).
    public func pin(modelID: String) async throws {
        let storage = self.storage
        _ = try await BlockingIO.run { try storage.pin(modelID) }
    }

    /// Lets `modelID` be evicted again; false when it was not pinned.
    @discardableResult
    public func unpin(modelID: String) async throws -> Bool {
        let storage = self.storage
        return try await BlockingIO.run { try storage.unpin(modelID) != nil }
    }

    /// Marks the pulled `modelID` used now, so it is evicted last; false when this node did
    /// not pull it (models it only offers are never evicted).
    @discardableResult
    public func markUsed(modelID: String) async -> Bool {
        let storage = self.storage
        return (try? await BlockingIO.run { storage.markUsed(modelID) != nil }) ?? false
    }
}
