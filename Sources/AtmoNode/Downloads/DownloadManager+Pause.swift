import AtmoProtocol
import AtmoStore
import Foundation

/// Pauses by the user: a paused download stops with its partial and resume record kept,
/// shows `queued` with `paused: true` and `paused_by: "user"`, stays so across restarts (the
/// queue row says so), and starts again only when resumed.
extension DownloadManager {
    /// Pauses the downloads under way with this request id, or of this model id; returns
    /// their ids (those already paused included).
    func pause(_ idOrModelID: String) -> [String] {
        var found: [String] = []
        var changed: [(QueuedDownload, DownloadAPI.Status)] = []
        var signals: [AsyncStream<Control>.Continuation] = []
        jobsState.withLock { jobs in
            for (id, job) in jobs where !job.status.isFinal && Self.matches(job, id, idOrModelID) {
                found.append(id)
                guard !job.isUserPaused else { continue }
                var paused = job
                paused.queued.pausedBy = DownloadAPI.PausedBy.user.rawValue
                paused.status.paused = true
                paused.status.pausedBy = .user
                if job.running, let control = job.control {
                    paused.pausedDuringRun = true
                    signals.append(control)
                } else {
                    Self.showUserPause(&paused.status)
                }
                jobs[id] = paused
                changed.append((paused.queued, paused.status))
            }
        }
        for (queued, status) in changed {
            try? database?.saveQueuedDownload(queued)
            broadcaster.send(.status(status))
        }
        for signal in signals { signal.yield(.pause) }
        return found
    }

    /// Resumes the downloads its user paused with this request id, or of this model id;
    /// returns the ids of the downloads under way it names (those not paused included).
    func resume(_ idOrModelID: String) -> [String] {
        var found: [String] = []
        var changed: [(QueuedDownload, DownloadAPI.Status)] = []
        var toRun: [QueuedDownload] = []
        jobsState.withLock { jobs in
            for (id, job) in jobs where !job.status.isFinal && Self.matches(job, id, idOrModelID) {
                found.append(id)
                guard job.isUserPaused else { continue }
                var resumed = job
                resumed.queued.pausedBy = nil
                resumed.status.paused = false
                resumed.status.pausedBy = nil
                jobs[id] = resumed
                changed.append((resumed.queued, resumed.status))
                // A run still stopping runs it again when it has stopped (`endRun`).
                if !job.running { toRun.append(resumed.queued) }
            }
        }
        for (queued, status) in changed {
            try? database?.saveQueuedDownload(queued)
            broadcaster.send(.status(status))
        }
        for queued in toRun { pendingSink.yield(queued) }
        return found
    }

    /// Whether some of `ids` still has a run that has not stopped (pause answers wait for it).
    func isRunning(_ ids: [String]) -> Bool {
        jobsState.withLock { jobs in ids.contains { jobs[$0]?.running == true && jobs[$0]?.isUserPaused == true } }
    }
}
