import Foundation
import Synchronization

/// Uses of models as they happen, kept in memory and written to the state database in
/// batches (`flush`). Recording is a dictionary update under a lock, so the provider can
/// record every request it serves (a swarm asks for a file 4 MiB at a time) without a
/// database write per request: one row per file per flush at most.
public final class UsageTracker: Sendable {
    private let pending = Mutex<[String: ModelUsage]>([:])

    public init() {}

    /// Notes that the file `sha256` (of `modelID`) was used now (or `at`).
    public func record(_ kind: UsageKind, sha256: String, modelID: String, at date: Date = Date()) {
        let usage = ModelUsage(sha256: sha256, modelID: modelID, lastUsedAt: date.timeIntervalSince1970, kind: kind)
        pending.withLock { $0[usage.sha256] = usage.later($0[usage.sha256]) }
    }

    /// The uses not written yet.
    package var unflushed: [String: ModelUsage] { pending.withLock { $0 } }

    /// `stored` with the uses not written yet: the latest use of each file.
    package func merged(with stored: [String: ModelUsage]) -> [String: ModelUsage] {
        stored.merging(unflushed) { old, new in new.later(old) }
    }

    /// Writes the pending uses in one transaction (blocking: call it through `BlockingIO`).
    /// On failure they stay pending, for the next flush.
    package func flush(to database: StateDatabase) throws(StoreError) {
        let batch = pending.withLock { pending in
            let batch = pending
            pending.removeAll()
            return batch
        }
        do {
            try database.recordUsage(Array(batch.values))
        } catch {
            pending.withLock { pending in pending.merge(batch) { new, old in old.later(new) } }
            throw error
        }
    }

    /// Drops pending uses of files that are gone.
    package func forget(sha256s: [String]) {
        pending.withLock { pending in for sha in sha256s { pending[sha.lowercased()] = nil } }
    }
}
