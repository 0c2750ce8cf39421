import AtmoMesh
import AtmoProtocol
import AtmoTransfer
import ServiceLifecycle

/// Where one download of a `MeshNode` stands: `DownloadAPI.State` with what each state
/// carries.
public enum DownloadState: Sendable, Hashable {
    /// Asked for; waiting for a free download slot (at most two transfer at once).
    case queued
    /// Queued by an earlier run of the node; waiting for a node of the mesh to offer the
    /// model again (no deadline: cancel it to give up).
    case waiting
    /// Choosing the providers and preparing the partial file (a new download waits here a
    /// while for a node of the mesh to offer the model).
    case preparing
    /// Bytes are arriving (byte-weighted, never backwards).
    case downloading(bytesDone: Int64, totalBytes: Int64, bytesPerSecond: Double, peer: String?)
    /// Checking the SHA-256.
    case verifying
    /// Verified; moving the model and its metadata into place.
    case installing
    /// Verified and installed at `path`.
    case completed(path: String)
    /// Ended without the model; `code` is a `TransferError` code (`not_offered`, `hash_mismatch`, ...).
    case failed(reason: String, code: String)
    /// Stopped by `cancel(requestID:)`; the partial file is kept for a later download.
    case cancelled
    /// A state this version does not know (named as on the wire), from a newer node.
    case unknown(String)

    /// Before `queued` and `waiting` were told apart, both were `idle`.
    @available(*, deprecated, message: "use .queued or .waiting")
    public static var idle: DownloadState { .queued }

    /// The state's name on the wire (`DownloadAPI.State`).
    public var wireState: DownloadAPI.State {
        switch self {
        case .queued: return .queued
        case .waiting: return .waiting
        case .preparing: return .preparing
        case .downloading: return .downloading
        case .verifying: return .verifying
        case .installing: return .installing
        case .completed: return .completed
        case .failed: return .failed
        case .cancelled: return .cancelled
        case .unknown(let name): return DownloadAPI.State(wireName: name)
        }
    }

    /// Whether nothing more will happen to the download.
    public var isFinal: Bool { wireState.isFinal }
}

/// A change of one download: which request, which model, its new state.
public struct DownloadUpdate: Sendable, Hashable {
    public var requestID: String
    public var modelID: String
    public var state: DownloadState
    /// How urgent the download is.
    public var priority: DownloadPriority = .default
    /// Whether it is paused: a more urgent download holds its slot (`state` is `queued`);
    /// it resumes from its verified pieces when a slot frees.
    public var paused = false
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
    /// `priority` orders it among the node's downloads: `.critical` for inference waiting on
    /// it (it may pause a lower one), `.high` (the default) when a person asked, `.normal`
    /// for background sync, `.low` for prefetch.
    public func download(
        modelID: String, sha256: String? = nil, preferredNode: String? = nil, priority: DownloadPriority = .default
    ) throws -> String {
        guard Validation.isValidModelID(modelID) else {
            throw WireError(.invalidModelID, "'\(modelID)' is not a model id")
        }
        return try downloads.start(DownloadAPI.Start(modelID: modelID, sha256: sha256, from: preferredNode, priority: priority))
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
            return DownloadUpdate(
                requestID: status.requestID, modelID: status.modelID, state: DownloadState(status), priority: status.priority ?? .default,
                paused: status.paused ?? false)
        }
    }
}

extension DownloadState {
    /// The library's view of a status of the queue.
    public init(_ status: DownloadAPI.Status) {
        guard let known = status.state.known else {
            self = .unknown(status.state.wireName)
            return
        }
        switch known {
        case .queued: self = .queued
        case .waiting: self = .waiting
        case .preparing: self = .preparing
        case .downloading:
            self = .downloading(bytesDone: status.bytesDone, totalBytes: status.totalBytes, bytesPerSecond: status.bytesPerSecond, peer: status.peer)
        case .verifying: self = .verifying
        case .installing: self = .installing
        case .completed: self = .completed(path: status.path ?? "")
        case .failed: self = .failed(reason: status.error ?? "failed", code: status.errorCode ?? TransferError.Code.localError.description)
        case .cancelled: self = .cancelled
        }
    }
}
