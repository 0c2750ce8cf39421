import AtmoProtocol
import AtmoStore
import Foundation

/// What `DownloadService` does with the queue: one run at a time per download, its status
/// changes, its end (saved in the history).
extension DownloadManager {
    /// A run of `requestID` starts: nil when it must not (ended, paused by its user, or
    /// another run owns it); else the stream of what its user asks (cancel, pause).
    func beginRun(_ requestID: String) -> AsyncStream<Control>? {
        let (stream, continuation) = AsyncStream.makeStream(of: Control.self)
        let held = heldBytes(of: queued(requestID))
        let owned = jobsState.withLock { jobs -> Bool in
            guard var job = jobs[requestID], !job.status.isFinal, !job.running, !job.isUserPaused else { return false }
            job.running = true
            job.heldFloor = held ?? 0
            job.pausedDuringRun = false
            job.control = continuation
            jobs[requestID] = job
            return true
        }
        guard owned else {
            continuation.finish()
            return nil
        }
        return stream
    }

    /// The run of `requestID` ended. A download its user paused shows as paused; one resumed
    /// before its paused run had stopped is queued again (unless the node stops:
    /// `mayRunAgain` false).
    func endRun(_ requestID: String, mayRunAgain: Bool) {
        let held = heldBytes(of: queued(requestID))
        let (again, paused) = jobsState.withLock { jobs -> (QueuedDownload?, DownloadAPI.Status?) in
            guard var job = jobs[requestID] else { return (nil, nil) }
            job.running = false
            // Stopped, not ended: it shows what its partial holds (the run counted bytes in
            // flight too, which are not kept), so the next run does not step back from it.
            if let held, !job.status.isFinal {
                job.status.bytesDone = held
                job.heldFloor = held
            }
            job.control?.finish()
            job.control = nil
            var paused: DownloadAPI.Status? = nil
            if job.isUserPaused, !job.status.isFinal {
                Self.showUserPause(&job.status)
                paused = job.status
            }
            let again = mayRunAgain && job.pausedDuringRun && !job.isUserPaused && !job.status.isFinal
            job.pausedDuringRun = false
            jobs[requestID] = job
            return (again ? job.queued : nil, paused)
        }
        if let paused { broadcaster.send(.status(paused)) }
        if let again { pendingSink.yield(again) }
    }

    /// A download its user paused: queued, not moving, until resumed.
    static func showUserPause(_ status: inout DownloadAPI.Status) {
        status.state = .queued
        status.paused = true
        status.pausedBy = .user
        status.bytesPerSecond = 0
        status.etaSeconds = nil
    }

    func wasCancelledByUser(_ requestID: String) -> Bool { jobsState.withLock { $0[requestID]?.cancelledByUser ?? false } }

    func isUserPaused(_ requestID: String) -> Bool { jobsState.withLock { $0[requestID]?.isUserPaused ?? false } }

    func isFinal(_ requestID: String) -> Bool { jobsState.withLock { $0[requestID]?.status.isFinal ?? true } }

    /// Changes the status of a download under way (a final one stays as it ended). A download
    /// its user paused keeps showing so, whatever its stopping run reports.
    func update(_ requestID: String, _ change: (inout DownloadAPI.Status) -> Void) {
        let status = jobsState.withLock { jobs -> DownloadAPI.Status? in
            guard var job = jobs[requestID], !job.status.isFinal else { return nil }
            change(&job.status)
            if job.status.bytesDone < job.heldFloor { job.status.bytesDone = job.heldFloor }
            if job.isUserPaused, !job.status.isFinal {
                job.status.paused = true
                job.status.pausedBy = .user
            }
            jobs[requestID] = job
            return job.status
        }
        if let status { broadcaster.send(.status(status)) }
    }

    /// Ends a download for good (completed, failed, cancelled): it leaves the saved queue and
    /// joins the history (the last `DownloadAPI.historyLimit` kept, here and saved).
    func finish(
        _ requestID: String, state: DownloadAPI.State, repositoryResult: RepositoryPullAPI.Result? = nil,
        change: (inout DownloadAPI.Status) -> Void = { _ in }
    ) {
        let finishedAtMs = Self.nowMs()
        let ended = jobsState.withLock { jobs -> (status: DownloadAPI.Status, createdAtMs: Int64)? in
            guard var job = jobs[requestID], !job.status.isFinal else { return nil }
            change(&job.status)
            job.status.state = state
            job.status.finishedAt = Double(finishedAtMs) / 1000
            job.status.bytesPerSecond = 0
            job.status.etaSeconds = nil
            if job.status.paused == true {
                job.status.paused = false
                job.status.pausedBy = nil
            }
            job.finishedAtMs = finishedAtMs
            job.repositoryResult = repositoryResult
            job.control?.finish()
            jobs[requestID] = job
            Self.trimHistory(&jobs)
            return (job.status, job.queued.createdAtMs)
        }
        guard let ended else { return }
        finishedCounts.withLock { $0[state.wireName, default: 0] += 1 }
        broadcaster.send(.status(ended.status))
        do {
            try database?.finishQueuedDownload(ended.status, createdAtMs: ended.createdAtMs, finishedAtMs: finishedAtMs)
        } catch {
            // The history is a convenience; the queue row must still go.
            try? database?.deleteQueuedDownload(requestID: requestID)
        }
    }

    /// Keeps the `DownloadAPI.historyLimit` most recently ended downloads in memory.
    static func trimHistory(_ jobs: inout [String: Job]) {
        let ended = jobs.values.filter { $0.status.isFinal }
        guard ended.count > DownloadAPI.historyLimit else { return }
        // Ties (downloads that ended in the same millisecond) go by request id, as on disk
        // (`StateDatabase.finishQueuedDownload`), so a restart restores these same ones.
        let oldest = ended.sorted {
            ($0.finishedAtMs ?? 0, $0.queued.createdAtMs, $0.queued.requestID) < ($1.finishedAtMs ?? 0, $1.queued.createdAtMs, $1.queued.requestID)
        }
        for job in oldest.prefix(ended.count - DownloadAPI.historyLimit) { jobs.removeValue(forKey: job.queued.requestID) }
    }
}
