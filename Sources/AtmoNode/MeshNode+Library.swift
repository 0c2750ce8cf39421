import AtmoMesh
import AtmoProtocol
import ServiceLifecycle

/// Where one download of a `MeshNode` stands.
public enum DownloadState: Sendable, Hashable {
    /// Asked for; waiting for its turn or for a node of the mesh to offer the model.
    case idle
    /// Choosing the providers and preparing the partial file.
    case preparing
    /// Bytes are arriving (byte-weighted, never backwards).
    case downloading(bytesDone: Int64, totalBytes: Int64, bytesPerSecond: Double, peer: String?)
    /// Checking the SHA-256 and installing.
    case verifying
    /// Verified and installed at `path`.
    case completed(path: String)
    /// Ended without the model; `code` is a `TransferError` code (`not_offered`, `hash_mismatch`, ...).
    case failed(reason: String, code: String)
    /// Stopped by `cancel(requestID:)`; the partial file is kept for a later download.
    case cancelled
}

/// A change of one download: which request, which model, its new state.
public struct DownloadUpdate: Sendable, Hashable {
    public var requestID: String
    public var modelID: String
    public var state: DownloadState
}

extension MeshNode: Service {
    /// Runs the node as one service of the caller's `ServiceGroup` (no signal handling of
    /// its own: the caller's group decides when to shut down).
    public func run() async throws {
        try await run(gracefulShutdownSignals: [])
    }
}

extension MeshNode {
    /// Every model of the mesh (this node's included) matching `query`, one per
    /// (`model_id`, `sha256`), each with its providers best first.
    public func models(matching query: MeshQuery = MeshQuery()) -> [MeshAPI.Model] {
        mesh.models(matching: query, localSHA256s: Set(inventory.entries.map(\.sha256)), ownNodeID: nodeID)
    }

    /// The versions of one model id in the mesh (usually one).
    public func models(id modelID: String) -> [MeshAPI.Model] {
        mesh.versions(of: modelID, localSHA256s: Set(inventory.entries.map(\.sha256)), ownNodeID: nodeID)
    }

    /// The peer a download of `modelID` would use first, nil when no other node offers it.
    public func chosenProvider(for modelID: String) -> MeshAPI.Provider? {
        models(id: modelID).first?.providers.first
    }

    /// The merged model list now, then again after every change of the mesh view.
    public var modelUpdates: some AsyncSequence<[MeshAPI.Model], Never> {
        mesh.changes.subscribe(first: [mesh.version]).map { _ in self.models() }
    }

    /// Starts downloading `modelID` from the best peers of the mesh (only from
    /// `preferredNode`, an id or name, when given) and returns its request id. The node
    /// runs it: it continues whoever listens, and resumes when the node restarts.
    public func download(modelID: String, sha256: String? = nil, preferredNode: String? = nil) throws -> String {
        guard Validation.isValidModelID(modelID) else {
            throw WireError(.invalidModelID, "'\(modelID)' is not a model id")
        }
        return try downloads.start(DownloadAPI.Start(modelID: modelID, sha256: sha256, from: preferredNode))
    }

    /// Stops a download (by request id or model id); false when none was under way.
    @discardableResult
    public func cancel(requestID: String) -> Bool {
        !downloads.cancel(requestID).isEmpty
    }

    /// The state of every download now, then each change.
    public var downloadUpdates: some AsyncSequence<DownloadUpdate, Never> {
        downloads.subscribe().compactMap { event -> DownloadUpdate? in
            guard case .status(let status) = event else { return nil }
            return DownloadUpdate(requestID: status.requestID, modelID: status.modelID, state: DownloadState(status))
        }
    }
}

extension DownloadState {
    init(_ status: DownloadAPI.Status) {
        switch status.state {
        case "preparing": self = .preparing
        case "downloading":
            self = .downloading(bytesDone: status.bytesDone, totalBytes: status.totalBytes, bytesPerSecond: status.bytesPerSecond, peer: status.peer)
        case "verifying", "installing": self = .verifying
        case "completed": self = .completed(path: status.path ?? "")
        case "failed": self = .failed(reason: status.error ?? "failed", code: status.errorCode ?? "local_error")
        case "cancelled": self = .cancelled
        default: self = .idle
        }
    }
}
