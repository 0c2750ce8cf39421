import AsyncHTTPClient
import AtmoMesh
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import Logging
import ServiceLifecycle

/// Runs the node's queued downloads with the same `PullEngine` as `atmo pull`: providers
/// from the mesh view, best first, fail-over between them, outcomes into the peers'
/// reliability. A download waits a while for the mesh to learn of its model (a node that
/// just started knows no catalogs yet). On graceful shutdown running downloads stop with
/// their partial kept and stay queued; the next start resumes them.
struct DownloadService: Service {
    let downloads: DownloadManager
    let mesh: MeshState
    let engine: PullEngine
    let modelsDirectory: String
    let nodeID: String
    /// Asks the inventory to rescan (a finished download becomes an offered model).
    let requestRescan: @Sendable () -> Void
    /// The SHA-256s this node holds (a model only this node has is "already here").
    let localSHA256s: @Sendable () -> Set<String>
    /// Resume the downloads an earlier run left queued (false for a one-command node).
    var resumesQueue = true
    let logger: Logger
    /// Downloads that transfer at once, by priority; the others wait (`queued`) for a slot,
    /// and a preempted one pauses until a slot frees.
    let slots: DownloadQueueSlots
    /// How long a new download waits for some node of the mesh to offer its model. One an
    /// earlier run queued waits until a node offers it (or the user cancels it): its
    /// providers were on the mesh once and are likely to come back.
    var waitForProvidersSeconds: Double = 60
    /// Where a repository download goes when its request names no folder.
    var repositoryDefaults = RepositoryDefaults.process

    func run() async throws {
        if resumesQueue {
            do {
                try downloads.restore()
            } catch {
                logger.warning("could not read the saved download queue: \(error)")
            }
        }
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    while !Task.isCancelled {
                        do { try await Task.sleep(for: .seconds(15)) } catch { return }
                        self.downloads.keepalive()
                    }
                }
                for await queued in self.downloads.pending {
                    group.addTask { await self.runCancellable(queued) }
                }
                group.cancelAll()
            }
        }
        downloads.shutdown()
    }

    /// The download, stopped early when its user cancels or pauses it (one run at a time;
    /// none for a download ended or paused by its user).
    private func runCancellable(_ queued: QueuedDownload) async {
        guard let control = downloads.beginRun(queued.requestID) else { return }
        // The download as the queue holds it now (a version or revision pinned by an earlier run).
        let current = downloads.queued(queued.requestID) ?? queued
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                if current.kind == DownloadAPI.Kind.repository.rawValue {
                    await self.performRepository(current)
                } else {
                    await self.perform(current)
                }
            }
            group.addTask {
                for await _ in control { return }
            }
            await group.next()
            group.cancelAll()
        }
        downloads.endRun(queued.requestID, mayRunAgain: !Task.isCancelled)
    }

    private func perform(_ queued: QueuedDownload) async {
        let id = queued.requestID
        downloads.update(id) { $0.state = .preparing }
        guard let plan = await waitForPlan(queued) else { return }
        downloads.pin(id, sha256: plan.sha256)
        await withSlots(queued) { preemption in await self.pull(queued, plan: plan, until: preemption) }
    }

    /// Runs `body` each time the download holds a slot. Only a download with sources takes
    /// a slot: one waiting for its providers does not hold up the others. A preempted
    /// download pauses (its partial and resume record kept) and waits for a slot again.
    func withSlots(_ queued: QueuedDownload, _ body: (AsyncStream<Void>) async -> RunOutcome) async {
        let id = queued.requestID
        let priority = queued.downloadPriority
        var resuming = false
        while true {
            if !resuming, !slots.canStart(priority) { downloads.update(id) { $0.state = .queued } }
            let preemption: AsyncStream<Void>
            do {
                preemption = try await slots.slot(for: id, priority: priority, resuming: resuming)
            } catch {
                stopped(id)
                return
            }
            downloads.update(id) { status in
                status.state = .preparing
                status.paused = false
                status.pausedBy = nil
            }
            guard case .preempted = await body(preemption) else {
                slots.release(id)
                return
            }
            downloads.update(id) { status in
                status.state = .queued
                status.paused = true
                status.pausedBy = .priority
                status.bytesPerSecond = 0
                status.etaSeconds = nil
            }
            logger.info("download paused for a more urgent one", metadata: ["model": "\(queued.modelID)", "priority": "\(priority)"])
            resuming = true
        }
    }

    /// The queue's state for a phase of the pull. The pull's `completed` is not yet the
    /// download's: the queue ends it (with the path) once `pull` returns.
    static func state(of phase: PullProgress.Phase) -> DownloadAPI.State {
        switch phase {
        case .preparing: return .preparing
        case .downloading: return .downloading
        case .verifying: return .verifying
        case .installing, .completed: return .installing
        }
    }

    /// A download stopped before its end: cancelled by its user, paused by its user, or the
    /// node is stopping (then it stays queued and resumes next start).
    func stopped(_ id: String) {
        if downloads.wasCancelledByUser(id) {
            downloads.finish(id, state: .cancelled)
        } else {
            downloads.update(id) { status in
                status.state = .queued
                status.bytesPerSecond = 0
                status.etaSeconds = nil
            }
        }
    }

    /// The sources for `queued`, waiting for the mesh to offer it (see
    /// `waitForProvidersSeconds`); nil when the download ended (refused, cancelled, already
    /// here).
    private func waitForPlan(_ queued: QueuedDownload) async -> SourcePlanner.Plan? {
        let patient = downloads.wasRestored(queued.requestID)
        let deadline = ContinuousClock.now + .milliseconds(Int64(waitForProvidersSeconds * 1000))
        while true {
            let versions = mesh.versions(of: queued.modelID, localSHA256s: localSHA256s(), ownNodeID: nodeID)
            switch SourcePlanner.plan(modelID: queued.modelID, versions: versions, sha256: queued.sha256, preferredNode: queued.preferredNode) {
            case .pull(let plan):
                return plan
            case .alreadyHere:
                // Asked for again, the node's copy counts as used (pulled) now.
                let wanted = queued.sha256?.lowercased()
                if let here = versions.first(where: { $0.installed && (wanted == nil || $0.entry.sha256 == wanted) }) {
                    engine.storage?.noteUse(of: here.entry)
                }
                downloads.finish(queued.requestID, state: .completed)
                return nil
            case .chooseVersion(let message):
                downloads.finish(queued.requestID, state: .failed) { status in
                    status.error = message
                    status.errorCode = TransferError.Code.sourceChanged.description
                }
                return nil
            case .refuse(let code, let message):
                if code == .notOffered, patient || ContinuousClock.now < deadline {
                    if patient { downloads.update(queued.requestID) { $0.state = .waiting } }
                    do { try await Task.sleep(for: .seconds(1)) } catch {
                        stopped(queued.requestID)
                        return nil
                    }
                    continue
                }
                // Nothing offered, and catalogs refused lately: one of them may have offered it.
                let wanted = queued.sha256?.lowercased()
                let offersNone = code == .notOffered && !versions.contains { wanted == nil || $0.entry.sha256 == wanted }
                let hint = offersNone ? mesh.refusalHint(modelID: queued.modelID) : ""
                downloads.finish(queued.requestID, state: .failed) { status in
                    status.error = message + hint
                    status.errorCode = code.description
                }
                return nil
            }
        }
    }
}
