import AtmoProtocol
import AtmoStore

extension PullEngine {
    /// This engine with every pull admitted by `storage` before a byte of the model moves.
    public func withStorage(_ storage: StorageAdmission?) -> PullEngine {
        var engine = self
        engine.storage = storage
        return engine
    }

    /// Admits the pull of `entry` (evicting, or refusing with `storage_full`); nil without a
    /// storage admission. Called once per pull, with the artefact's lock held.
    func admit(_ entry: ModelEntry, into store: LocalModelStore) async throws(TransferError) -> StorageTicket? {
        guard let storage else { return nil }
        return try await blocking { try storage.admit(entry, into: store) }
    }

    /// A pull that found its version installed already: the model counts as used (pulled)
    /// now, as a pull that fetched it would ("used" is served, pulled or marked used).
    func installedAlready(_ result: PullResult) -> PullResult {
        storage?.noteUse(of: result.entry)
        return result
    }
}
