import AtmoMesh
import AtmoProtocol
import AtmoStore
import Foundation
import Logging
import Synchronization

/// Model updates of the node (issue 11): the ids it follows (`model_follow`), what
/// `UpdatePlanner` decides for them each `check`, the downloads it starts (normal priority),
/// the updates it shows, and rollbacks. The rules are the planner's; this is the glue
/// (state database, store, mesh view, download queue). Blocking: call on the node's threads.
final class NodeUpdates: Sendable {
    struct State: Sendable {
        var planner = UpdatePlanner()
        var loaded = false
        /// The last decision per followed id.
        var actions: [String: UpdatePlanner.Action] = [:]
        /// The last automatic pull of each id, to wait after a failure.
        var attempts: [String: Attempt] = [:]
    }

    /// An automatic pull and when the next may start.
    struct Attempt: Sendable {
        var sha256: String
        var requestID: String
        var failures: Int
        var retryAtMs: Int64
    }

    /// First wait after a failed automatic pull, doubled per failure up to `maxRetryMs`.
    static let firstRetryMs: Int64 = 30_000
    static let maxRetryMs: Int64 = 3_600_000

    let database: StateDatabase
    /// The node's store of pulled models (keeping previous versions).
    let store: LocalModelStore
    let downloads: DownloadManager
    let mesh: MeshState
    let nodeID: String
    let logger: Logger
    let state = Mutex(State())
    /// Asks the inventory to rescan (set once the node runs): a rolled-back file is offered.
    let rescan = Shared<@Sendable () -> Void>({})

    init(database: StateDatabase, modelsDirectory: String, downloads: DownloadManager, mesh: MeshState, nodeID: String, logger: Logger) {
        self.database = database
        store = LocalModelStore(directory: modelsDirectory).keepingPreviousVersions()
        self.downloads = downloads
        self.mesh = mesh
        self.nodeID = nodeID
        self.logger = logger
    }

    /// Follows from the configuration (config.json's `follow`), applied at start as a base
    /// the runtime overrides (`StateDatabase.applyConfigFollows`): a new or changed entry is
    /// followed, an unchanged one leaves what `atmo follow`/`unfollow` did, a removed one
    /// goes unless changed at runtime. The ids and modes that are not valid are logged and
    /// left out (the first entry of an id counts).
    func adopt(_ follows: [UpdatesAPI.FollowRequest]) {
        var entries: [String: String] = [:]
        for request in follows where entries[request.modelID] == nil {
            guard Validation.isValidModelID(request.modelID) else {
                logger.warning("config.json: cannot follow '\(request.modelID)': not a model id")
                continue
            }
            guard let mode = UpdatePlanner.Mode(name: request.mode ?? "auto") else {
                logger.warning("config.json: cannot follow \(request.modelID): \(Self.unknownModeMessage(request.mode ?? ""))")
                continue
            }
            entries[request.modelID] = mode.rawValue
        }
        do {
            let result = try database.applyConfigFollows(entries)
            for modelID in result.refused {
                logger.warning("config.json: cannot follow \(modelID): this node follows \(StateDatabase.maxFollows) models already")
            }
        } catch {
            logger.warning("config.json: cannot apply the follows: \(error)")
        }
    }

    /// Looks at the mesh once: records new versions, starts the pulls of `auto` follows,
    /// keeps the decisions for the API, and the previous versions' records. Blocking.
    func check(now: Int64 = Int64(Date().timeIntervalSince1970 * 1000)) throws(StoreError) {
        let follows = try database.follows()
        // A node that follows nothing does not read the mesh view every check.
        if follows.isEmpty, state.withLock({ $0.actions.isEmpty }) {
            try recordPreviousVersions(followed: [])
            return
        }
        let sightings = state.withLock { $0.loaded } ? [] : try database.versionSightings()
        let planned = plannerFollows(follows)
        var installed: [String: UpdatePlanner.Installed] = [:]
        for follow in follows {
            if let model = store.installed(modelID: follow.modelID) { installed[follow.modelID] = Self.installed(model) }
        }
        let followed = Set(follows.map(\.modelID))
        let offers = mesh.models(matching: MeshQuery(), localSHA256s: [], ownNodeID: nodeID).filter { followed.contains($0.entry.modelID) }
            .map { UpdatePlanner.Offer(entry: $0.entry, complete: $0.providers.contains { !$0.isPartial }) }
        let statuses = downloads.list()
        let downloading = Set(statuses.filter { !$0.isFinal }.map(\.modelID))
        let (actions, fresh) = state.withLock { state -> ([UpdatePlanner.Action], [UpdatePlanner.Sighting]) in
            if !state.loaded {
                state.planner = UpdatePlanner(
                    sightings: sightings.map { .init(modelID: $0.modelID, sha256: $0.sha256, firstSeenMs: $0.firstSeenMs) })
                state.loaded = true
            }
            let actions = state.planner.plan(follows: planned, installed: installed, offers: offers, downloading: downloading, now: now)
            state.actions = Dictionary(actions.map { ($0.modelID, $0) }, uniquingKeysWith: { first, _ in first })
            return (actions, state.planner.takeNewSightings())
        }
        try database.recordSightings(fresh.map { VersionSighting(modelID: $0.modelID, sha256: $0.sha256, firstSeenMs: $0.firstSeenMs) })
        for action in actions {
            guard case .pull(let update) = action, mayStart(update, statuses: statuses, now: now) else { continue }
            let requestID = try downloads.start(DownloadAPI.Start(modelID: update.modelID, sha256: update.sha256, priority: .normal))
            state.withLock { state in
                let failures = state.attempts[update.modelID].map { $0.sha256 == update.sha256 ? $0.failures : 0 } ?? 0
                state.attempts[update.modelID] = Attempt(sha256: update.sha256, requestID: requestID, failures: failures, retryAtMs: 0)
            }
            logger.info(
                "pulling a newer version of a followed model",
                metadata: [
                    "model": "\(update.modelID)", "sha256": "\(update.sha256)", "version": "\(update.version)",
                    "installed": "\(update.installedVersion ?? "none")", "reason": "\(update.reason.rawValue)",
                ])
        }
        try recordPreviousVersions(followed: followed)
    }

    /// Whether an automatic pull of `update` may start now: not while its last failure's
    /// wait runs (30 s, doubled per failure, at most an hour).
    private func mayStart(_ update: UpdatePlanner.Update, statuses: [DownloadAPI.Status], now: Int64) -> Bool {
        state.withLock { state in
            guard var attempt = state.attempts[update.modelID], attempt.sha256 == update.sha256 else { return true }
            guard attempt.retryAtMs == 0 else { return now >= attempt.retryAtMs }
            // The last pull of this version ended without installing it: failed or cancelled
            // waits; completed (and since removed) may start again.
            guard let status = statuses.first(where: { $0.requestID == attempt.requestID }),
                status.state == .failed || status.state == .cancelled
            else { return true }
            attempt.failures += 1
            let wait = min(Self.maxRetryMs, Self.firstRetryMs << min(attempt.failures - 1, 20))
            attempt.retryAtMs = now + wait
            state.attempts[update.modelID] = attempt
            logger.warning(
                "the pull of a followed model's update ended without it; trying again later",
                metadata: ["model": "\(update.modelID)", "error": "\(status.error ?? status.state.description)", "retry_in_ms": "\(wait)"])
            return false
        }
    }

    /// Keeps `previous_version` in step with the store's `.atmo-previous/` folder.
    private func recordPreviousVersions(followed: Set<String>) throws(StoreError) {
        let recorded = try database.previousVersions()
        let kept = store.previousVersions.installed()
        for model in kept where recorded[model.modelID]?.sha256 != model.sha256.lowercased() {
            let current = store.installed(modelID: model.modelID)?.sha256 ?? ""
            try database.recordPrevious(
                PreviousVersionRecord(
                    modelID: model.modelID, sha256: model.sha256, version: model.version, replacedBy: current,
                    keptAt: Date().timeIntervalSince1970))
        }
        let keptIDs = Set(kept.map(\.modelID))
        for modelID in recorded.keys where !keptIDs.contains(modelID) { try database.forgetPrevious(modelID: modelID) }
    }

    func plannerFollows(_ follows: [FollowRecord]) -> [UpdatePlanner.Follow] {
        follows.compactMap { record in
            UpdatePlanner.Mode(name: record.mode).map {
                UpdatePlanner.Follow(modelID: record.modelID, mode: $0, declined: Set(record.declined))
            }
        }
    }

    static func installed(_ model: InstalledModel) -> UpdatePlanner.Installed {
        let installedAt = ISO8601DateFormatter().date(from: model.downloadedAt)?.timeIntervalSince1970 ?? 0
        return UpdatePlanner.Installed(
            sha256: model.sha256, version: model.version, source: model.source, installedAtMs: Int64(installedAt * 1000))
    }
}
