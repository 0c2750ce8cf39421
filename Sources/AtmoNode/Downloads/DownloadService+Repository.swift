import AtmoMesh
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation

/// Where a repository download goes when its request names no folder: the node's own
/// Hugging Face cache and LlamaFarm folder.
struct RepositoryDefaults: Sendable {
    var hubCache: String
    var llamaFarmRoot: String

    /// This process's defaults (`HubCache.defaultRoot`, `~/.llamafarm/models`).
    static var process: RepositoryDefaults {
        RepositoryDefaults(
            hubCache: HubCache.defaultRoot(environment: ProcessInfo.processInfo.environment, home: NSHomeDirectory()),
            llamaFarmRoot: NSHomeDirectory() + "/.llamafarm/models")
    }
}

/// A repository download of the queue (`kind: repository`): the revision the mesh offers
/// (pinned once chosen), then `RepositoryPuller` with the queue's engine, file by file, in a
/// slot like any download (priorities, preemption, pause). A run that stops (pause, node
/// restart, kill) leaves the files installed in place and the current file's partial: the
/// next run skips the former and resumes the latter.
extension DownloadService {
    func performRepository(_ queued: QueuedDownload) async {
        let id = queued.requestID
        let choices = queued.repository ?? DownloadAPI.Repository()
        downloads.update(id) { $0.state = .preparing }
        guard let entry = await waitForRepository(queued, revision: choices.revision) else { return }
        let selection = RepositoryFileSelection(include: choices.include, exclude: choices.exclude, paths: choices.files)
        let destination = destination(of: choices)
        do throws(TransferError) {
            let chosen = try selection.files(of: entry)
            downloads.pin(id, revision: entry.revision, files: chosen.map(\.sha256))
            downloads.update(id) { status in
                status.filesTotal = chosen.count
                status.filesDone = 0
                status.totalBytes = chosen.reduce(0) { $0 + $1.sizeBytes }
            }
        } catch {
            downloads.finish(id, state: .failed) { status in
                status.error = error.message
                status.errorCode = error.code.description
            }
            return
        }
        await withSlots(queued) { preemption in
            await self.run(queued, until: preemption) { preempted in
                await self.pullRepository(queued, entry: entry, selection: selection, into: destination, preempted: preempted)
            }
        }
    }

    func destination(of choices: DownloadAPI.Repository) -> RepositoryDestination {
        switch choices.into {
        case "atmo": return .store
        case "llamafarm": return .llamaFarm(root: choices.llamaFarmRoot ?? repositoryDefaults.llamaFarmRoot)
        default: return .huggingFace(HubCache(root: choices.hubCache ?? repositoryDefaults.hubCache))
        }
    }

    /// The revisions of the repository other nodes offer, the one the mesh vouches for most first
    /// (`MeshRepository.ranked`: trusted providers, then distinct hosts).
    func offeredRevisions(of modelID: String) -> [MeshAPI.Repository] {
        mesh.repositoryVersions(of: modelID, localSHA256s: [], ownNodeID: nodeID)
            .filter { !$0.providers.isEmpty }
    }

    /// The repository's entry at `revision` (nil: the one the mesh vouches for most), waiting for the
    /// mesh as `waitForPlan` does; nil when the download ended (refused, cancelled).
    private func waitForRepository(_ queued: QueuedDownload, revision: String?) async -> RepositoryEntry? {
        let patient = downloads.wasRestored(queued.requestID)
        let deadline = ContinuousClock.now + .milliseconds(Int64(waitForProvidersSeconds * 1000))
        while true {
            let offered = offeredRevisions(of: queued.modelID).first { revision == nil || $0.repository.revision == revision }
            if let offered { return offered.repository }
            if patient || ContinuousClock.now < deadline {
                if patient { downloads.update(queued.requestID) { $0.state = .waiting } }
                do { try await Task.sleep(for: .seconds(1)) } catch {
                    stopped(queued.requestID)
                    return nil
                }
                continue
            }
            let at = revision.map { " at revision \($0)" } ?? ""
            let hint = mesh.refusalHint(modelID: queued.modelID)
            downloads.finish(queued.requestID, state: .failed) { status in
                status.error = "no other node of the mesh offers the repository \(queued.modelID)\(at) (see `atmo models`)" + hint
                status.errorCode = TransferError.Code.notOffered.description
            }
            return nil
        }
    }

    /// One run of the repository's pull; ends the download when it completes or fails.
    private func pullRepository(
        _ queued: QueuedDownload, entry: RepositoryEntry, selection: RepositoryFileSelection, into destination: RepositoryDestination,
        preempted: Shared<Bool>
    ) async {
        let id = queued.requestID
        // Each file from the nodes holding it (a node that pulled some files offers those),
        // each node asked by its own ids (a node holding the commit as a tag names it otherwise).
        let commit = MeshRepository.Key(entry: entry)
        let ranked = offeredRevisions(of: entry.modelID).first { MeshRepository.Key(entry: $0.repository) == commit }?.providers ?? []
        let held = mesh.meshRepositories(of: entry.modelID).first { $0.key == commit }
        let sources: @Sendable (RepositoryFile) -> [PullSource] = { file in
            let holders = Set(held?.providers(of: file).map(\.nodeID) ?? [])
            return MeshNode.sources(of: ranked.filter { holders.contains($0.nodeID) })
        }
        let providers = held?.providerEntries ?? [:]
        let puller = RepositoryPuller(
            engine: engine.background(queued.downloadPriority.isBackground), store: LocalModelStore(directory: modelsDirectory),
            requesterNodeID: nodeID, logger: logger)
        do throws(TransferError) {
            let done = try await puller.pull(
                entry, sources: sources, providers: providers, files: selection, into: destination
            ) { progress in
                self.downloads.update(id) { status in Self.show(progress, in: &status) }
            }
            downloads.finish(id, state: .completed, repositoryResult: done.summary) { status in
                status.path = done.path
                status.totalBytes = done.files.reduce(0) { $0 + $1.sizeBytes }
                status.bytesDone = status.totalBytes
                status.filesDone = done.files.count
                status.filesTotal = done.files.count
                status.currentPath = nil
                status.bytesTransferred = done.bytesTransferred
                status.seconds = done.seconds
            }
            requestRescan()
            logger.info("repository download completed", metadata: ["model": "\(queued.modelID)", "path": "\(done.path)"])
        } catch {
            // Stopped (preempted, paused, cancelled, the node stops): the caller says which.
            if error.code == .cancelled || preempted.value { return }
            downloads.finish(id, state: .failed) { status in
                status.error = error.message
                status.errorCode = error.code.description
            }
            logger.warning("repository download failed", metadata: ["model": "\(queued.modelID)", "error": "\(error.message)"])
        }
    }

    /// A repository pull's progress as the queue shows it: bytes and files over the whole
    /// selection, the current file's phase, rate and peer.
    static func show(_ progress: RepositoryPullProgress, in status: inout DownloadAPI.Status) {
        if let file = progress.file {
            status.state = state(of: file.phase)
        } else {
            status.state = progress.filesDone == progress.fileCount ? .installing : .downloading
        }
        status.bytesDone = progress.bytesDone
        status.totalBytes = progress.totalBytes
        status.filesDone = progress.filesDone
        status.filesTotal = progress.fileCount
        status.currentPath = progress.currentPath
        let rate = progress.file?.bytesPerSecond ?? 0
        status.bytesPerSecond = rate
        status.etaSeconds = rate > 0 ? Double(max(0, progress.totalBytes - progress.bytesDone)) / rate : nil
        if let peer = progress.file?.peer, !peer.isEmpty { status.peer = peer }
    }
}
