import AtmoMesh
import AtmoProtocol
import AtmoStore
import Foundation

/// What people and apps ask of the node's updates (`UpdatesAPI`, `atmo follow` and the
/// others). Blocking: call on the node's threads.
extension NodeUpdates {
    /// Every mode name a follow takes (`UpdatePlanner.Mode(name:)`): the error for another
    /// one lists them all.
    static let modeNames = ["auto", "auto-update", "auto_update", "prompt"]

    /// The error for a follow mode that is none of `modeNames` (the mode cut to 64 characters).
    static func unknownModeMessage(_ mode: String) -> String {
        "mode '\(mode.prefix(64))' is not one of \(modeNames.joined(separator: ", ")) (auto-update and auto_update are auto)"
    }

    /// Follows `request.modelID` (or changes its mode). Throws `invalidArgument`-like
    /// `conflict` errors for an unknown mode or beyond the bound of follows.
    func follow(_ request: UpdatesAPI.FollowRequest) throws(StoreError) -> UpdatesAPI.Follow {
        guard Validation.isValidModelID(request.modelID) else { throw StoreError(.conflict, "'\(request.modelID)' is not a model id") }
        guard let mode = UpdatePlanner.Mode(name: request.mode ?? "auto") else {
            throw StoreError(.conflict, Self.unknownModeMessage(request.mode ?? ""))
        }
        try database.follow(modelID: request.modelID, mode: mode.rawValue)
        return try follows().first { $0.modelID == request.modelID }
            ?? UpdatesAPI.Follow(modelID: request.modelID, mode: mode.rawValue, state: "")
    }

    /// Stops following `modelID`; false when it was not followed. Its kept previous version
    /// stays (evictable) until storage needs the space.
    func unfollow(_ modelID: String) throws(StoreError) -> Bool {
        let removed = try database.unfollow(modelID: modelID)
        _ = state.withLock { $0.actions.removeValue(forKey: modelID) }
        return removed
    }

    /// Every follow and where it stands.
    func follows() throws(StoreError) -> [UpdatesAPI.Follow] {
        let actions = state.withLock { $0.actions }
        return try database.follows().map { record in
            let installed = store.installed(modelID: record.modelID)
            let previous = store.previousVersion(of: record.modelID)
            var follow = UpdatesAPI.Follow(
                modelID: record.modelID, mode: record.mode, installedSHA256: installed?.sha256, installedVersion: installed?.version,
                previousSHA256: previous?.sha256, previousVersion: previous?.version, declined: record.declined, state: "checking")
            switch actions[record.modelID] {
            case .pull(let update):
                follow.update = Self.wire(update)
                follow.state = "downloading"
            case .prompt(let update):
                follow.update = Self.wire(update)
                follow.state = "update_available"
            case .ignore(_, let reason): follow.state = reason.rawValue
            case nil: break
            }
            return follow
        }
    }

    /// The updates shown for `prompt` follows, by id.
    func updates() -> [UpdatesAPI.Update] {
        state.withLock { state in
            state.actions.values.compactMap { action -> UpdatesAPI.Update? in
                guard case .prompt(let update) = action else { return nil }
                return Self.wire(update)
            }.sorted { $0.modelID < $1.modelID }
        }
    }

    /// Accepts the update shown for `modelID`: the node pulls it (high priority: a person
    /// asked). Nil when no update is shown for it.
    func accept(_ modelID: String) throws(StoreError) -> UpdatesAPI.Accepted? {
        let shown = state.withLock { state -> UpdatePlanner.Update? in
            guard case .prompt(let update) = state.actions[modelID] else { return nil }
            return update
        }
        guard let shown else { return nil }
        try database.setDeclined(modelID: modelID, sha256: shown.sha256, false)
        let requestID = try downloads.start(DownloadAPI.Start(modelID: modelID, sha256: shown.sha256, priority: .high))
        // Until the next check sees the download, the update is no longer shown.
        state.withLock { $0.actions[modelID] = .ignore(modelID: modelID, .downloading) }
        return UpdatesAPI.Accepted(modelID: modelID, sha256: shown.sha256, requestID: requestID)
    }

    /// Puts back the previous version of `modelID` (kept since an update replaced it). A
    /// followed id declines the version it leaves: it is not pulled again by itself (a later
    /// one is; `atmo update` or `atmo pull` takes it back). Throws `notFound` when no previous
    /// version is kept.
    func rollBack(_ modelID: String) throws(StoreError) -> UpdatesAPI.RolledBack {
        let (restored, replaced) = try store.rollBack(modelID: modelID)
        let path = store.filePath(of: restored)
        // The bytes are the ones installed before: the inventory need not hash them again.
        if let stat = try? FileIO.stat(path) { try? database.rememberHash(path: path, stat: stat, sha256: restored.sha256) }
        if let replaced {
            try database.setDeclined(modelID: modelID, sha256: replaced.sha256, true)
            try database.setDeclined(modelID: modelID, sha256: restored.sha256, false)
            try database.recordPrevious(
                PreviousVersionRecord(
                    modelID: modelID, sha256: replaced.sha256, version: replaced.version, replacedBy: restored.sha256,
                    keptAt: Date().timeIntervalSince1970))
        } else {
            try database.forgetPrevious(modelID: modelID)
        }
        _ = state.withLock { $0.actions.removeValue(forKey: modelID) }
        rescan.value()
        logger.info(
            "rolled back to the previous version",
            metadata: ["model": "\(modelID)", "sha256": "\(restored.sha256)", "replaced": "\(replaced?.sha256 ?? "none")"])
        return UpdatesAPI.RolledBack(modelID: modelID, sha256: restored.sha256, version: restored.version, previousSHA256: replaced?.sha256)
    }

    static func wire(_ update: UpdatePlanner.Update) -> UpdatesAPI.Update {
        UpdatesAPI.Update(
            modelID: update.modelID, sha256: update.sha256, version: update.version, sizeBytes: update.sizeBytes,
            installedSHA256: update.installedSHA256, installedVersion: update.installedVersion, reason: update.reason.rawValue)
    }
}
