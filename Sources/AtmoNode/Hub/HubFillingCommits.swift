import AtmoMesh
import AtmoStore
import Foundation
import Logging
import Synchronization

/// The commits the Hub endpoint answered from the mesh's listing (it held none of them):
/// their snapshots fill file by file from the mesh, so their listing stays the mesh's while
/// this node holds part of them (`HubCatalog.fillingFromMesh`). Any other snapshot this
/// node holds is answered from its own files alone. Kept in the node's state database
/// (`hub_filling_commit`) and read back at start, so a snapshot left half filled by a
/// restart is still listed as the mesh's and its other files still fetched.
package final class HubFillingCommits: Sendable {
    private struct State {
        var keys: Set<MeshRepository.Key> = []
        /// When each was recorded (a sequence number): the oldest goes first at capacity.
        var recorded: [MeshRepository.Key: UInt64] = [:]
        var next: UInt64 = 0

        /// Records `key`; returns the key it evicted (nil: none), or nil overall when `key`
        /// was known already.
        mutating func insert(_ key: MeshRepository.Key, capacity: Int) -> MeshRepository.Key?? {
            guard !keys.contains(key) else { return nil }
            var evicted: MeshRepository.Key? = nil
            if keys.count >= capacity, let oldest = recorded.min(by: { $0.value < $1.value })?.key {
                keys.remove(oldest)
                recorded[oldest] = nil
                evicted = oldest
            }
            keys.insert(key)
            recorded[key] = next
            next += 1
            return .some(evicted)
        }
    }

    private let state = Mutex(State())
    private let database: StateDatabase?
    private let logger: Logger
    /// Most commits remembered, in memory and in the database (a client cannot grow the set
    /// without bound): past it, the one recorded longest ago goes.
    package let capacity: Int
    package static let defaultCapacity = 4096

    /// A record kept in `database` (nil: in memory only), starting from what it holds.
    package init(
        database: StateDatabase? = nil, capacity: Int = HubFillingCommits.defaultCapacity,
        logger: Logger = Logger(label: "atmo.hub", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.database = database
        self.capacity = max(1, capacity)
        self.logger = logger
        guard let database else { return }
        do {
            // Most recent first: the oldest get the lowest numbers.
            let kept = try database.hubFillingCommits(limit: self.capacity)
            state.withLock { state in
                for commit in kept.reversed() {
                    _ = state.insert(MeshRepository.Key(repoID: commit.repoID, revision: commit.revision), capacity: self.capacity)
                }
            }
        } catch {
            logger.warning("could not read the commits the Hub endpoint fills", metadata: ["error": "\(error)"])
        }
    }

    package var commits: Set<MeshRepository.Key> { state.withLock { $0.keys } }

    /// Records that the endpoint answers `key` from the mesh's listing (once per commit: a
    /// commit known already costs no write).
    package func insert(_ key: MeshRepository.Key) {
        let capacity = self.capacity
        guard let evicted = state.withLock({ $0.insert(key, capacity: capacity) }), let database else { return }
        let row = { (key: MeshRepository.Key) in StateDatabase.HubFillingCommit(repoID: key.repoID, revision: key.revision) }
        do {
            try database.recordHubFillingCommit(
                row(key), evicting: evicted.map { [row($0)] } ?? [], atMs: Int64(Date().timeIntervalSince1970 * 1000), limit: capacity)
        } catch {
            logger.warning("could not record a commit the Hub endpoint fills", metadata: ["repo": "\(key.repoID)", "error": "\(error)"])
        }
    }
}
