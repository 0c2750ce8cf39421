import AtmoMesh
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import Logging

/// The node's storage of pulled models: the admission its pulls go through (the limit,
/// eviction), pins, and uses (what it serves is recorded by its provider in
/// `TransferLedger.usage`).
final class NodeStorage: Sendable {
    let admission: StorageAdmission
    let store: LocalModelStore
    let database: StateDatabase
    /// Asks the inventory to rescan (set once the node runs): evicted models stop being offered.
    private let rescan: Shared<@Sendable () -> Void>

    init(configuration: NodeConfiguration, database: StateDatabase, usage: UsageTracker, mesh: MeshState, nodeID: String, logger: Logger) {
        store = LocalModelStore(directory: configuration.modelsDirectory)
        self.database = database
        let rescan = Shared<@Sendable () -> Void>({})
        self.rescan = rescan
        admission = StorageAdmission(
            configuration: configuration.storage, database: database, usage: usage,
            meshCopies: { Self.wholeCopies(in: mesh, ownNodeID: nodeID) }, logger: logger,
            onEvicted: { _ in rescan.value() })
    }

    func onEviction(rescan requestRescan: @escaping @Sendable () -> Void) {
        rescan.value = requestRescan
    }

    /// Other nodes holding each file whole, by SHA-256 (partial holders do not count: their
    /// copy may never finish).
    static func wholeCopies(in mesh: MeshState, ownNodeID: String) -> [String: Int] {
        var copies: [String: Int] = [:]
        for model in mesh.models(matching: MeshQuery(), localSHA256s: [], ownNodeID: ownNodeID) {
            let whole = model.providers.filter { $0.nodeID != ownNodeID && $0.partial != true }.count
            copies[model.entry.sha256.lowercased(), default: 0] += whole
        }
        return copies
    }

    /// The storage now (blocking: the store's folder and the state database).
    func status() throws(StoreError) -> StorageAPI.Status {
        try admission.status(of: store).status
    }

    /// Pins `modelID` (installed or not yet: the pin waits for it).
    func pin(_ modelID: String) throws(StoreError) -> StorageAPI.PinState {
        try database.pin(modelID: modelID)
        return StorageAPI.PinState(modelID: modelID, pinned: true, installed: store.installed(modelID: modelID) != nil)
    }

    /// Unpins `modelID`; nil when it was not pinned.
    func unpin(_ modelID: String) throws(StoreError) -> StorageAPI.PinState? {
        guard try database.unpin(modelID: modelID) else { return nil }
        return StorageAPI.PinState(modelID: modelID, pinned: false, installed: store.installed(modelID: modelID) != nil)
    }

    /// Marks the pulled `modelID` used now; nil when it is not a pulled model of this node.
    func markUsed(_ modelID: String) -> InstalledModel? {
        guard let installed = store.installed(modelID: modelID) else { return nil }
        admission.usage.record(.used, sha256: installed.sha256, modelID: modelID)
        return installed
    }
}
