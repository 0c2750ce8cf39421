import AtmoMesh
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import Logging

extension DownloadService {
    /// How one run of a download with a slot ended.
    enum RunOutcome {
        /// Completed, failed or stopped: the download gives its slot back.
        case ended
        /// A more urgent download took the slot: the pull stopped with its partial and
        /// resume record kept; the download waits for a slot again.
        case preempted
    }

    /// Pulls the model of `queued` along `plan` until it ends or `preemption` yields. Normal
    /// and low downloads are background transfers for the bandwidth shaper.
    func pull(_ queued: QueuedDownload, plan: SourcePlanner.Plan, until preemption: AsyncStream<Void>) async -> RunOutcome {
        await run(queued, until: preemption) { preempted in await self.pull(queued, plan: plan, preempted: preempted) }
    }

    /// Runs `body` (a pull that ends the download itself when it completes or fails) until it
    /// returns or `preemption` yields; `body` is told whether it was preempted.
    func run(
        _ queued: QueuedDownload, until preemption: AsyncStream<Void>, _ body: @escaping @Sendable (Shared<Bool>) async -> Void
    ) async -> RunOutcome {
        let preempted = Shared(false)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await body(preempted) }
            group.addTask {
                for await _ in preemption {
                    preempted.value = true
                    return
                }
            }
            await group.next()
            group.cancelAll()
        }
        let id = queued.requestID
        guard !downloads.isFinal(id) else { return .ended }
        // Stopped for a more urgent download, not by its user nor the node's shutdown.
        if preempted.value, !Task.isCancelled, !downloads.wasCancelledByUser(id) { return .preempted }
        stopped(id)
        return .ended
    }

    private func pull(_ queued: QueuedDownload, plan: SourcePlanner.Plan, preempted: Shared<Bool>) async {
        let id = queued.requestID
        var request = PullRequest(
            modelID: queued.modelID, sources: plan.sources, destination: LocalModelStore(directory: modelsDirectory).keepingPreviousVersions(),
            expectedSHA256: plan.sha256, requesterNodeID: nodeID)
        // Pulled from nodes still downloading it when no node offers it whole.
        request.announcedEntry = plan.entry
        let mesh = self.mesh
        // A swarm pull takes in nodes that start holding the model while it runs.
        let (localSHA256s, ownNodeID) = (self.localSHA256s, nodeID)
        request.discoverSources = {
            let versions = mesh.versions(of: queued.modelID, localSHA256s: localSHA256s(), ownNodeID: ownNodeID)
            let replanned = SourcePlanner.plan(
                modelID: queued.modelID, versions: versions, sha256: plan.sha256, preferredNode: queued.preferredNode)
            guard case .pull(let current) = replanned else { return [] }
            return current.sources
        }
        let engine = self.engine.background(queued.downloadPriority.isBackground)
        do throws(TransferError) {
            let result = try await engine.pull(
                request,
                progress: { progress in
                    self.downloads.update(id) { status in
                        status.state = Self.state(of: progress.phase)
                        status.bytesDone = progress.bytesDone
                        status.totalBytes = progress.totalBytes
                        status.bytesPerSecond = progress.bytesPerSecond
                        status.etaSeconds = progress.etaSeconds
                        status.peer = progress.peer
                    }
                },
                onSourceOutcome: { source, outcome in
                    guard let nodeID = source.nodeID else { return }
                    // A pull stopped for a more urgent one says nothing of its sources.
                    if preempted.value { return }
                    if case .success = outcome {
                        mesh.recordOutcome(nodeID: nodeID, success: true)
                    } else {
                        mesh.recordOutcome(nodeID: nodeID, success: false)
                    }
                })
            downloads.finish(id, state: .completed) { status in
                status.path = result.path
                status.bytesDone = result.entry.sizeBytes
                status.totalBytes = result.entry.sizeBytes
                status.bytesTransferred = result.bytesTransferred
                status.resumedBytes = result.resumedBytes
                status.seconds = result.seconds
                status.paused = false
            }
            requestRescan()
            logger.info("download completed", metadata: ["model": "\(queued.modelID)", "path": "\(result.path)"])
        } catch {
            // Stopped (preempted, cancelled, the node stops): the caller says which.
            if error.code == .cancelled { return }
            downloads.finish(id, state: .failed) { status in
                status.error = error.message
                status.errorCode = error.code.description
            }
            logger.warning("download failed", metadata: ["model": "\(queued.modelID)", "error": "\(error.message)"])
        }
    }
}
