import AtmoMesh
import Synchronization

/// The commits the Hub endpoint answered from the mesh's listing (it held none of them):
/// their snapshots fill file by file from the mesh, so their listing stays the mesh's while
/// this node holds part of them (`HubCatalog.fillingFromMesh`). Any other snapshot this
/// node holds is answered from its own files alone. In memory: after a restart, a snapshot
/// left half filled is answered as this node holds it (its files only) until it is pulled
/// again (`atmo pull`), or removed and asked for anew.
package final class HubFillingCommits: Sendable {
    private let held = Mutex<Set<MeshRepository.Key>>([])
    /// Most commits remembered (a client cannot grow the set without bound): past it, a new
    /// commit is not recorded.
    static let capacity = 4096

    package init() {}

    package var commits: Set<MeshRepository.Key> { held.withLock { $0 } }

    /// Records that the endpoint answers `key` from the mesh's listing.
    package func insert(_ key: MeshRepository.Key) {
        held.withLock { commits in
            guard commits.count < Self.capacity || commits.contains(key) else { return }
            commits.insert(key)
        }
    }
}
