import AtmoProtocol
import AtmoStore
import Foundation
import Synchronization

/// What subscribers of the download queue receive.
public enum DownloadEvent: Sendable {
    /// A download changed; the whole new status.
    case status(DownloadAPI.Status)
    /// Nothing changed for a while (lets a Server-Sent Events stream stay open).
    case keepalive
}

/// The node's download queue: what was asked for, where each download stands, who listens.
/// `DownloadService` runs the downloads; routes and the library API start, list, pause,
/// resume and cancel them here. Queued downloads are saved in the state database until they
/// end, so a node that restarts resumes them (a download its user paused stays paused);
/// ended ones join the saved history (the last `DownloadAPI.historyLimit`).
final class DownloadManager: Sendable {
    /// What a running download is told by its user.
    enum Control: Sendable {
        case cancel
        case pause
    }

    struct Job: Sendable {
        var queued: QueuedDownload
        var status: DownloadAPI.Status
        /// Set while a run of `DownloadService` owns the download.
        var control: AsyncStream<Control>.Continuation?
        var running = false
        /// Its user paused it during the current run (the run stops; a resume before it
        /// has stopped runs it again).
        var pausedDuringRun = false
        var cancelledByUser = false
        /// Queued by an earlier run of the node (read back from the database).
        var restored = false
        /// When it ended (unix ms); nil while not final.
        var finishedAtMs: Int64?
        /// The bytes its partial held when its current run began (from the resume record): a
        /// run that starts by checking those pieces again reports from 0 up; the status does
        /// not go below them (a model's download; 0 for a repository).
        var heldFloor: Int64 = 0
        /// A repository download that completed: what it installed (for `/v1/repository-pulls`).
        var repositoryResult: RepositoryPullAPI.Result?

        var isUserPaused: Bool { queued.pausedBy == DownloadAPI.PausedBy.user.rawValue }
    }

    let jobsState = Mutex<[String: Job]>([:])
    let database: StateDatabase?
    let broadcaster = Broadcaster<DownloadEvent>()
    /// Final downloads ended during this run, by state (for the metrics' counters).
    let finishedCounts = Mutex<[String: Int64]>([:])
    /// Downloads to run, in the order they were asked for (consumed by `DownloadService`).
    let pending: AsyncStream<QueuedDownload>
    let pendingSink: AsyncStream<QueuedDownload>.Continuation

    /// At most this many downloads not yet final: a start beyond it is refused (one of a
    /// download already queued still joins it). Each queued download costs memory and, while
    /// it waits for a provider, a look at the mesh now and then.
    let unfinishedLimit: Int

    /// How many downloads not yet final a node keeps by default.
    static let defaultUnfinishedLimit = 256

    init(database: StateDatabase?, unfinishedLimit: Int = DownloadManager.defaultUnfinishedLimit) {
        self.database = database
        self.unfinishedLimit = max(1, unfinishedLimit)
        (pending, pendingSink) = AsyncStream.makeStream()
    }

    /// Queues a download and returns its request id. A download of the same model (and
    /// version, when given; for a repository, the same choices) already under way is not
    /// started twice: its id is returned.
    func start(_ request: DownloadAPI.Start) throws(StoreError) -> String {
        try enqueue(request).requestID
    }

    /// As `start`, and whether this call queued it (false: it joined one under way).
    func enqueue(_ request: DownloadAPI.Start) throws(StoreError) -> (requestID: String, created: Bool) {
        let wanted = request.sha256?.lowercased()
        let kind = request.kind ?? .model
        let repository = request.isRepository ? (request.repository ?? DownloadAPI.Repository()) : nil
        let queued = QueuedDownload(
            requestID: UUID().uuidString.lowercased(), modelID: request.modelID, sha256: request.isRepository ? nil : wanted,
            preferredNode: request.from, createdAtMs: Self.nowMs(), priority: (request.priority ?? .default).rawValue,
            kind: kind.rawValue, repository: repository)
        // Check and insert under one lock, so two requests at once make one download.
        let existing = jobsState.withLock { jobs -> String?? in
            let running = jobs.values.first { job in
                guard !job.status.isFinal, job.queued.modelID == request.modelID, job.queued.kind == kind.rawValue else { return false }
                if let repository { return Self.sameChoices(job.queued.repository, repository) }
                let version = job.status.sha256 ?? job.queued.sha256
                return wanted == nil || version == nil || version == wanted
            }
            if let running { return .some(running.queued.requestID) }
            guard jobs.values.count(where: { !$0.status.isFinal }) < unfinishedLimit else { return .none }
            jobs[queued.requestID] = Job(queued: queued, status: Self.queuedStatus(queued))
            return .some(nil)
        }
        guard let existing else { throw StoreError(.busy, Self.queueFullMessage(limit: unfinishedLimit)) }
        if let existing { return (existing, false) }
        do {
            try database?.saveQueuedDownload(queued)
        } catch {
            _ = jobsState.withLock { $0.removeValue(forKey: queued.requestID) }
            throw error
        }
        announce(queued)
        return (queued.requestID, true)
    }

    /// The message of the `StoreError` (code `busy`) a start beyond `unfinishedLimit` throws.
    static func queueFullMessage(limit: Int) -> String {
        "The download queue is full (\(limit) downloads not yet finished): cancel some (DELETE /v1/downloads/{id}) or wait for them to end, then retry"
    }

    /// Whether `error` is the refusal of a start beyond `unfinishedLimit`.
    func isQueueFull(_ error: StoreError) -> Bool {
        error.code == .busy && error.message == Self.queueFullMessage(limit: unfinishedLimit)
    }

    /// Whether a repository download with `choices` is the one `existing` makes (a revision
    /// not named takes any).
    static func sameChoices(_ existing: DownloadAPI.Repository?, _ choices: DownloadAPI.Repository) -> Bool {
        guard var existing else { return false }
        if choices.revision == nil { existing.revision = nil }
        return existing == choices
    }

    /// Lists the downloads an earlier run of the node ended (its history), then queues the
    /// ones it did not finish (those its user paused stay paused).
    func restore() throws(StoreError) {
        let history = try database?.downloadHistory() ?? []
        jobsState.withLock { jobs in
            for (createdAtMs, status) in history where jobs[status.requestID] == nil {
                let queued = QueuedDownload(
                    requestID: status.requestID, modelID: status.modelID, sha256: status.sha256, preferredNode: nil,
                    createdAtMs: createdAtMs, priority: (status.priority ?? .default).rawValue, kind: (status.kind ?? .model).rawValue)
                var job = Job(queued: queued, status: status, restored: true)
                job.finishedAtMs = status.finishedAt.map { Int64($0 * 1000) } ?? createdAtMs
                jobs[status.requestID] = job
            }
        }
        for queued in try database?.queuedDownloads() ?? [] {
            // A row saved again as its download ended (a pause or pin racing the end) is done.
            if history.contains(where: { $0.status.requestID == queued.requestID }) {
                try? database?.deleteQueuedDownload(requestID: queued.requestID)
                continue
            }
            let isNew = jobsState.withLock { jobs -> Bool in
                guard jobs[queued.requestID] == nil else { return false }
                jobs[queued.requestID] = Job(queued: queued, status: restoredStatus(queued), restored: true)
                return true
            }
            if isNew { announce(queued) }
        }
    }

    /// The version a download settled on: kept with the queued request, so a restart resumes
    /// the same artefact (and its partial file) instead of choosing again.
    func pin(_ requestID: String, sha256: String) {
        let queued = jobsState.withLock { jobs -> QueuedDownload? in
            guard jobs[requestID]?.queued.sha256 == nil else { return nil }
            jobs[requestID]?.queued.sha256 = sha256
            jobs[requestID]?.status.sha256 = sha256
            return jobs[requestID]?.queued
        }
        if let queued { try? database?.saveQueuedDownload(queued) }
    }

    /// The revision a repository download settled on, kept as `pin` keeps a version, with
    /// its selected files' SHA-256s (their partials are this download's).
    func pin(_ requestID: String, revision: String, files: [String]) {
        let queued = jobsState.withLock { jobs -> QueuedDownload? in
            guard var job = jobs[requestID], var repository = job.queued.repository else { return nil }
            guard repository.revision == nil || job.queued.fileSHA256s != files else { return nil }
            repository.revision = revision
            job.queued.repository = repository
            job.queued.fileSHA256s = files
            jobs[requestID] = job
            return job.queued
        }
        if let queued { try? database?.saveQueuedDownload(queued) }
    }

    static func queuedStatus(_ queued: QueuedDownload) -> DownloadAPI.Status {
        var status = DownloadAPI.Status(state: .queued, requestID: queued.requestID, modelID: queued.modelID, sha256: queued.sha256)
        status.priority = queued.downloadPriority
        status.kind = DownloadAPI.Kind(rawValue: queued.kind)
        status.paused = queued.pausedBy != nil
        status.pausedBy = queued.pausedBy.map(DownloadAPI.PausedBy.init(rawValue:))
        return status
    }

    private func announce(_ queued: QueuedDownload) {
        broadcaster.send(.status(status(of: queued.requestID) ?? Self.queuedStatus(queued)))
        pendingSink.yield(queued)
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Whether the job is `idOrModelID` (its request id or its model id).
    static func matches(_ job: Job, _ id: String, _ idOrModelID: String) -> Bool {
        id == idOrModelID || job.queued.modelID == idOrModelID
    }

    /// Cancels the downloads with this request id, or of this model id; returns their ids.
    func cancel(_ idOrModelID: String) -> [String] {
        let signals = jobsState.withLock { jobs -> [(String, AsyncStream<Control>.Continuation?)] in
            var found: [(String, AsyncStream<Control>.Continuation?)] = []
            for (id, job) in jobs where !job.status.isFinal && Self.matches(job, id, idOrModelID) {
                jobs[id]?.cancelledByUser = true
                found.append((id, job.running ? job.control : nil))
            }
            return found
        }
        for (id, signal) in signals {
            if let signal {
                signal.yield(.cancel)
            } else {
                // Not running: it ends here.
                finish(id, state: .cancelled)
            }
        }
        return signals.map(\.0)
    }

    /// Every download known: those under way and the final ones kept (the last
    /// `DownloadAPI.historyLimit`), oldest first.
    func list() -> [DownloadAPI.Status] {
        jobsState.withLock { jobs in
            jobs.values.sorted { ($0.queued.createdAtMs, $0.queued.requestID) < ($1.queued.createdAtMs, $1.queued.requestID) }
                .map(\.status)
        }
    }

    func status(of requestID: String) -> DownloadAPI.Status? { jobsState.withLock { $0[requestID]?.status } }

    /// The download as queued now (its version or revision pinned once chosen).
    func queued(_ requestID: String) -> QueuedDownload? { jobsState.withLock { $0[requestID]?.queued } }

    /// What a completed repository download installed (nil for the others).
    func repositoryResult(of requestID: String) -> RepositoryPullAPI.Result? {
        jobsState.withLock { $0[requestID]?.repositoryResult }
    }

    /// Whether the download was queued by an earlier run of the node.
    func wasRestored(_ requestID: String) -> Bool { jobsState.withLock { $0[requestID]?.restored ?? false } }

    /// Events from now on, after the current status of every download.
    func subscribe() -> AsyncStream<DownloadEvent> {
        broadcaster.subscribe(first: list().map { .status($0) })
    }

    func keepalive() { broadcaster.send(.keepalive) }

    /// Final downloads of this run by state (`completed`, `failed`, `cancelled`).
    func finishedThisRun() -> [String: Int64] { finishedCounts.withLock { $0 } }

    /// The node stops: subscribers' streams end (unfinished downloads stay saved).
    func shutdown() {
        pendingSink.finish()
        broadcaster.finish()
    }
}

extension QueuedDownload {
    /// The download's priority (a name this version does not know, from a newer node's
    /// database: the default).
    var downloadPriority: DownloadPriority { DownloadPriority(rawValue: priority) ?? .default }
}
