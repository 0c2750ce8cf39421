import AtmoProtocol
import AtmoTransfer

/// The library's side of the queue's pause, resume, history and repository downloads (the
/// same as `POST /v1/downloads/{id}/pause|resume` and `POST /v1/downloads` with
/// `kind: repository`).
extension MeshNode {
    /// Pauses the downloads under way with this request id, or of this model id: each stops
    /// with its partial kept and stays paused (also across restarts) until `resume`. False
    /// when none is under way.
    @discardableResult
    public func pause(requestID: String) -> Bool {
        !downloads.pause(requestID).isEmpty
    }

    /// Resumes the downloads paused with `pause` (by request id or model id); false when
    /// none is under way.
    @discardableResult
    public func resume(requestID: String) -> Bool {
        !downloads.resume(requestID).isEmpty
    }

    /// Every download the node lists: those under way, then the last
    /// `DownloadAPI.historyLimit` that ended (kept across restarts), oldest request first.
    public func downloadStatuses() -> [DownloadAPI.Status] {
        downloads.list()
    }

    /// Queues a download of the repository `modelID` (`org--name`): the files `files` takes
    /// of the revision `revision` (nil: the one most nodes offer), installed into
    /// `destination` (nil: this node's Hugging Face cache). The node runs it like any
    /// download (priority, pause, resumed after a restart without fetching installed files
    /// again); returns its request id.
    public func downloadRepository(
        modelID: String, revision: String? = nil, files: RepositoryFileSelection = .all, into destination: RepositoryDestination? = nil,
        priority: DownloadPriority = .default
    ) throws -> String {
        var choices = DownloadAPI.Repository(revision: revision, include: files.include, exclude: files.exclude, files: files.paths)
        switch destination {
        case .huggingFace(let cache)?: choices.hubCache = cache.root
        case .llamaFarm(let root)?:
            choices.into = "llamafarm"
            choices.llamaFarmRoot = root
        case .store?: choices.into = "atmo"
        case nil: break
        }
        let start = DownloadAPI.Start(modelID: modelID, priority: priority, kind: .repository, repository: choices)
        if let problem = ProviderRoutes.problem(with: start) { throw WireError(.invalidValue, problem) }
        return try downloads.start(start)
    }
}
