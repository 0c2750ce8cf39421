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
/// `DownloadService` runs the downloads; routes and the library API start, list and cancel
/// them here. Queued downloads are saved in the state database until they end, so a node
/// that restarts resumes them.
final class DownloadManager: Sendable {
    struct Job: Sendable {
        var queued: QueuedDownload
        var status: DownloadAPI.Status
        var cancelSignal: AsyncStream<Void>.Continuation?
        var cancelledByUser = false
        /// Queued by an earlier run of the node (read back from the database).
        var restored = false
    }

    private let jobsState = Mutex<[String: Job]>([:])
    private let database: StateDatabase?
    private let broadcaster = Broadcaster<DownloadEvent>()
    /// Downloads to run, in the order they were asked for (consumed by `DownloadService`).
    let pending: AsyncStream<QueuedDownload>
    private let pendingSink: AsyncStream<QueuedDownload>.Continuation

    init(database: StateDatabase?) {
        self.database = database
        (pending, pendingSink) = AsyncStream.makeStream()
    }

    /// Queues a download and returns its request id. A download of the same model (and
    /// version, when given) already under way is not started twice: its id is returned.
    func start(_ request: DownloadAPI.Start) throws(StoreError) -> String {
        let wanted = request.sha256?.lowercased()
        let queued = QueuedDownload(
            requestID: UUID().uuidString.lowercased(), modelID: request.modelID, sha256: wanted, preferredNode: request.from,
            createdAtMs: Int64(Date().timeIntervalSince1970 * 1000), priority: (request.priority ?? .default).rawValue)
        // Check and insert under one lock, so two requests at once make one download.
        let existing = jobsState.withLock { jobs -> String? in
            let running = jobs.values.first { job in
                guard !job.status.isFinal, job.queued.modelID == request.modelID else { return false }
                let version = job.status.sha256 ?? job.queued.sha256
                return wanted == nil || version == nil || version == wanted
            }
            if let running { return running.queued.requestID }
            jobs[queued.requestID] = Job(queued: queued, status: Self.queuedStatus(queued))
            return nil
        }
        if let existing { return existing }
        do {
            try database?.saveQueuedDownload(queued)
        } catch {
            _ = jobsState.withLock { $0.removeValue(forKey: queued.requestID) }
            throw error
        }
        announce(queued)
        return queued.requestID
    }

    /// Queues the downloads an earlier run of the node did not finish.
    func restore() throws(StoreError) {
        for queued in try database?.queuedDownloads() ?? [] {
            let isNew = jobsState.withLock { jobs -> Bool in
                guard jobs[queued.requestID] == nil else { return false }
                jobs[queued.requestID] = Job(queued: queued, status: Self.queuedStatus(queued), restored: true)
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

    private static func queuedStatus(_ queued: QueuedDownload) -> DownloadAPI.Status {
        var status = DownloadAPI.Status(state: .queued, requestID: queued.requestID, modelID: queued.modelID, sha256: queued.sha256)
        status.priority = queued.downloadPriority
        status.paused = false
        return status
    }

    private func announce(_ queued: QueuedDownload) {
        broadcaster.send(.status(Self.queuedStatus(queued)))
        pendingSink.yield(queued)
    }

    /// Cancels the downloads with this request id, or of this model id; returns their ids.
    func cancel(_ idOrModelID: String) -> [String] {
        let signals = jobsState.withLock { jobs -> [(String, AsyncStream<Void>.Continuation?)] in
            var found: [(String, AsyncStream<Void>.Continuation?)] = []
            for (id, job) in jobs where !job.status.isFinal && (id == idOrModelID || job.queued.modelID == idOrModelID) {
                jobs[id]?.cancelledByUser = true
                found.append((id, job.cancelSignal))
            }
            return found
        }
        for (id, signal) in signals {
            if let signal {
                signal.yield()
            } else {
                // Not running yet: it ends here.
                finish(id, state: .cancelled)
            }
        }
        return signals.map(\.0)
    }

    /// Every download known since the node started (finished ones included), oldest first.
    func list() -> [DownloadAPI.Status] {
        jobsState.withLock { jobs in jobs.values.sorted { $0.queued.createdAtMs < $1.queued.createdAtMs }.map(\.status) }
    }

    func status(of requestID: String) -> DownloadAPI.Status? { jobsState.withLock { $0[requestID]?.status } }

    /// Whether the download was queued by an earlier run of the node.
    func wasRestored(_ requestID: String) -> Bool { jobsState.withLock { $0[requestID]?.restored ?? false } }

    /// Events from now on, after the current status of every download.
    func subscribe() -> AsyncStream<DownloadEvent> {
        broadcaster.subscribe(first: list().map { .status($0) })
    }

    func keepalive() { broadcaster.send(.keepalive) }

    // MARK: - For DownloadService

    /// A stream that yields once when the user cancels `requestID`.
    func cancellation(of requestID: String) -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        let alreadyCancelled = jobsState.withLock { jobs -> Bool in
            jobs[requestID]?.cancelSignal = continuation
            return jobs[requestID]?.cancelledByUser ?? false
        }
        if alreadyCancelled { continuation.yield() }
        return stream
    }

    func wasCancelledByUser(_ requestID: String) -> Bool { jobsState.withLock { $0[requestID]?.cancelledByUser ?? false } }

    func isFinal(_ requestID: String) -> Bool { jobsState.withLock { $0[requestID]?.status.isFinal ?? true } }

    func update(_ requestID: String, _ change: (inout DownloadAPI.Status) -> Void) {
        let status = jobsState.withLock { jobs -> DownloadAPI.Status? in
            guard var job = jobs[requestID], !job.status.isFinal else { return nil }
            change(&job.status)
            jobs[requestID] = job
            return job.status
        }
        if let status { broadcaster.send(.status(status)) }
    }

    /// Ends a download for good (completed, failed, cancelled): it leaves the saved queue.
    func finish(_ requestID: String, state: DownloadAPI.State, change: (inout DownloadAPI.Status) -> Void = { _ in }) {
        update(requestID) { status in
            change(&status)
            status.state = state
        }
        jobsState.withLock { $0[requestID]?.cancelSignal?.finish() }
        try? database?.deleteQueuedDownload(requestID: requestID)
    }

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
