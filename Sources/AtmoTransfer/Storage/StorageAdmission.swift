import AtmoProtocol
import AtmoStore
import Foundation
import Logging
import Synchronization

/// The storage limit at the door of every pull: before a byte of the model moves, the pull
/// is admitted (evicting least recently used pulled models when it must, see
/// `StoragePlanner`) or refused with `storage_full` and the numbers. Admitted pulls hold a
/// reservation of their size until they end, so two pulls admitted at once cannot both
/// count on the same free bytes.
public final class StorageAdmission: Sendable {
    public let configuration: StorageConfiguration
    let database: StateDatabase
    /// Uses not yet written (the node's provider records what it serves there).
    public let usage: UsageTracker
    /// Other whole copies the mesh knows of, by SHA-256 (empty without a mesh view).
    let meshCopies: @Sendable () -> [String: Int]
    /// Told what was evicted (the node rescans, so it stops offering them).
    let onEvicted: @Sendable ([StoredModel]) -> Void
    let logger: Logger
    /// SHA-256 to size of the pulls admitted and not ended. Held while a pull is admitted,
    /// so admissions happen one at a time.
    private let reservations = Mutex<[String: Int64]>([:])

    public init(
        configuration: StorageConfiguration, database: StateDatabase, usage: UsageTracker = UsageTracker(),
        meshCopies: @escaping @Sendable () -> [String: Int] = { [:] }, logger: Logger,
        onEvicted: @escaping @Sendable ([StoredModel]) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.database = database
        self.usage = usage
        self.meshCopies = meshCopies
        self.logger = logger
        self.onEvicted = onEvicted
    }

    /// What `store` holds, with the bytes of admitted pulls whose partial file is not (fully)
    /// there yet counted as partials, and taken from the disk's free space. The stale
    /// partials' locks are taken into `locks` (nil: not looked at; see `stalePartials`).
    func input(
        for store: LocalModelStore, reserved: [String: Int64], neededFor entry: ModelEntry?, locks: StalePartialLocks?
    ) throws(StoreError) -> StoragePlanner.Input {
        let snapshot = try StorageSnapshot.read(store: store, database: database, usage: usage, meshCopies: meshCopies())
        let inUse = Set(reserved.keys).union(entry.map { [$0.sha256.lowercased()] } ?? [])
        let stale = stalePartials(of: store, among: snapshot.partials, inUse: inUse, locks: locks)
        var partials = snapshot.partials
        var promised: Int64 = 0
        for (sha, size) in reserved where size > partials[sha] ?? 0 {
            promised += size - (partials[sha] ?? 0)
            partials[sha] = size
        }
        let needed = entry.map { max(0, $0.sizeBytes - (partials[$0.sha256.lowercased()] ?? 0)) } ?? 0
        return StoragePlanner.Input(
            models: snapshot.models, partialBytes: partials.values.reduce(0, +), limitBytes: configuration.limitBytes,
            freeBytes: max(0, snapshot.diskFreeBytes - promised), neededBytes: needed, force: configuration.evictLastCopies,
            stalePartials: stale)
    }

    /// The planner's view of `store` now (for `atmo storage` and the node's API).
    public func status(of store: LocalModelStore) throws(StoreError) -> StoragePlanner.Input {
        let reserved = reservations.withLock { $0 }
        return try input(for: store, reserved: reserved, neededFor: nil, locks: nil)
    }

    /// Admits a pull of `entry` into `store`: evicts what the plan says, then reserves the
    /// pull's size until `StorageTicket.end`. Throws `storage_full` when it cannot fit.
    /// Blocking (file system, SQLite): call it on the engine's pool.
    public func admit(_ entry: ModelEntry, into store: LocalModelStore) throws(TransferError) -> StorageTicket {
        let sha = entry.sha256.lowercased()
        usage.record(.pulled, sha256: sha, modelID: entry.modelID)
        let evicted: [StoredModel] = try reservations.withLock { (reserved) throws(TransferError) -> [StoredModel] in
            let input: StoragePlanner.Input
            let locks = StalePartialLocks()
            do throws(StoreError) {
                input = try self.input(for: store, reserved: reserved, neededFor: entry, locks: locks)
            } catch {
                throw TransferError.from(error)
            }
            switch StoragePlanner.evictions(input) {
            case .full(let shortfall):
                throw TransferError(.storageFull, "\(entry.modelID): \(shortfall.message)")
            case .fits(let partials, let evict):
                for partial in partials {
                    do throws(StoreError) {
                        try self.evict(partial, of: store, locks: locks)
                    } catch {
                        throw TransferError(
                            error.code == .permissionDenied ? .permissionDenied : .storageFull,
                            "\(entry.modelID): could not delete the stale partial \(partial.sha256) to make room: \(error.message)",
                            underlying: error)
                    }
                    logger.info(
                        "deleted a stale partial download to make room",
                        metadata: ["sha256": "\(partial.sha256)", "bytes": "\(partial.sizeBytes)", "for": "\(entry.modelID)"])
                }
                var evicted: [StoredModel] = []
                for model in evict {
                    do throws(StoreError) {
                        if try store.evict(modelID: model.modelID, sha256: model.sha256) { evicted.append(model) }
                    } catch {
                        throw TransferError(
                            error.code == .permissionDenied ? .permissionDenied : .storageFull,
                            "\(entry.modelID): could not evict \(model.modelID) to make room: \(error.message)", underlying: error)
                    }
                }
                reserved[sha] = entry.sizeBytes
                return evicted
            }
        }
        if !evicted.isEmpty {
            let shas = evicted.map(\.sha256)
            usage.forget(sha256s: shas)
            try? database.forgetUsage(sha256s: shas)
            for model in evicted {
                logger.info(
                    "evicted a pulled model to make room",
                    metadata: [
                        "model": "\(model.modelID)", "bytes": "\(model.sizeBytes)", "for": "\(entry.modelID)",
                        "last_used": "\(model.lastUsedAt)", "mesh_copies": "\(model.meshCopies)",
                    ])
            }
            onEvicted(evicted)
        }
        return StorageTicket(admission: self, entry: entry)
    }

    /// A pull of `entry` found it installed already: it counts as used (pulled) now.
    public func noteUse(of entry: ModelEntry) {
        usage.record(.pulled, sha256: entry.sha256.lowercased(), modelID: entry.modelID)
    }

    /// Ends the reservation of a pull; its model counts as used now.
    fileprivate func end(_ entry: ModelEntry) {
        let sha = entry.sha256.lowercased()
        reservations.withLock { _ = $0.removeValue(forKey: sha) }
        usage.record(.pulled, sha256: sha, modelID: entry.modelID)
    }
}

/// An admitted pull's hold on its bytes; `end` it when the pull ends, however it ends.
public struct StorageTicket: Sendable {
    let admission: StorageAdmission
    let entry: ModelEntry

    public func end() { admission.end(entry) }
}
