import AtmoProtocol
import AtmoStore

/// Where a repository pull puts the files.
public enum RepositoryDestination: Sendable, Hashable {
    /// A Hugging Face hub cache (`HubCache.defaultRoot`): `snapshots/{revision}/{path}`
    /// symlinks to `blobs/{blob_id}`, `refs/{ref}`; what transformers, huggingface_hub and
    /// llama.cpp load offline. The default for a Hugging Face repository.
    case huggingFace(HubCache)
    /// The node's own store: each file as a pulled model (`{model_id}.{format}` and its
    /// sidecar), nothing else.
    case store
    /// LlamaFarm's models folder (`~/.llamafarm/models`): the files under
    /// `{root}/{category}/{folder}/{path}`, where LlamaFarm looks for them.
    case llamaFarm(root: String)

    /// `hf`, `atmo` or `llamafarm`, as `atmo pull --into` names it.
    public var name: String {
        switch self {
        case .huggingFace: return "hf"
        case .store: return "atmo"
        case .llamaFarm: return "llamafarm"
        }
    }
}

/// What a repository pull did with one file.
public enum RepositoryFileOutcome: String, Sendable, Hashable, Codable {
    /// It was installed there already: nothing was done.
    case alreadyInstalled = "already_installed"
    /// Its bytes were in the destination (a blob of the cache): only linked into the snapshot.
    case reusedBlob = "reused_blob"
    /// Its bytes were in the node's store: linked (or copied) from there, nothing fetched.
    case fromStore = "from_store"
    /// Fetched from the mesh, verified and installed.
    case fetched
}

/// One file of an installed repository.
public struct InstalledRepositoryFile: Sendable, Hashable {
    /// Its path in the repository.
    public var path: String
    /// Where a tool finds it: the snapshot's symlink, the LlamaFarm file, the store's file.
    public var location: String
    public var sizeBytes: Int64
    public var sha256: String
    public var outcome: RepositoryFileOutcome
    /// Bytes fetched over the network for it by this pull.
    public var bytesTransferred: Int64
}

/// A pulled repository: what it consists of and where it was installed.
public struct InstalledRepository: Sendable {
    /// The repository as the mesh offered it (every file, also those not selected).
    public var entry: RepositoryEntry
    public var destination: RepositoryDestination
    /// Where tools find it: the snapshot folder `{cache}/models--{org}--{name}/snapshots/{revision}`
    /// (hf), the model's folder (llamafarm), or the store folder (atmo).
    public var path: String
    /// The files this pull took, in path order.
    public var files: [InstalledRepositoryFile]
    /// Bytes fetched over the network by this pull.
    public var bytesTransferred: Int64
    public var seconds: Double

    /// True when every selected file was installed already.
    public var alreadyInstalled: Bool { files.allSatisfy { $0.outcome == .alreadyInstalled } }
}

/// Progress over a whole repository pull: byte-weighted across the selected files.
public struct RepositoryPullProgress: Sendable {
    /// The repository's `model_id`.
    public var modelID: String
    public var filesDone: Int
    public var fileCount: Int
    /// Bytes of the selected files installed or arrived, never backwards.
    public var bytesDone: Int64
    public var totalBytes: Int64
    /// The file being pulled, and its own progress when bytes move.
    public var currentPath: String?
    public var file: PullProgress?

    /// The whole pull as one `PullProgress` (for progress bars and `--json` lines).
    public func asPullProgress(requestID: String) -> PullProgress {
        PullProgress(
            requestID: requestID, modelID: modelID, phase: filesDone == fileCount ? .completed : .downloading, bytesDone: bytesDone,
            totalBytes: totalBytes, resumedBytes: 0, bytesPerSecond: file?.bytesPerSecond ?? 0, etaSeconds: nil,
            piecesDone: filesDone, pieceCount: fileCount, peer: file?.peer ?? "", source: file?.source)
    }
}

extension InstalledRepository {
    /// The wire form (`RepositoryPullAPI.Result`, the last line of `atmo pull org/name --json`).
    public var summary: RepositoryPullAPI.Result {
        RepositoryPullAPI.Result(
            modelID: entry.modelID, repoID: entry.repoID, revision: entry.revision, into: destination.name, path: path,
            files: files.map {
                RepositoryPullAPI.Result.File(
                    path: $0.path, location: $0.location, sizeBytes: $0.sizeBytes, sha256: $0.sha256, outcome: $0.outcome.rawValue)
            }, bytesTransferred: bytesTransferred, seconds: seconds)
    }
}

extension RepositoryPullProgress {
    /// The wire form (`RepositoryPullAPI.Progress`).
    public var message: RepositoryPullAPI.Progress {
        RepositoryPullAPI.Progress(
            modelID: modelID, filesDone: filesDone, fileCount: fileCount, bytesDone: bytesDone, totalBytes: totalBytes,
            bytesPerSecond: file?.bytesPerSecond ?? 0, currentPath: currentPath, peer: file?.peer)
    }

    /// A report rebuilt from its wire form (a node's `progress` event).
    public init(_ message: RepositoryPullAPI.Progress) {
        self.init(
            modelID: message.modelID, filesDone: message.filesDone, fileCount: message.fileCount, bytesDone: message.bytesDone,
            totalBytes: message.totalBytes, currentPath: message.currentPath,
            file: PullProgress(
                requestID: "", modelID: message.modelID, phase: .downloading, bytesDone: 0, totalBytes: 0,
                bytesPerSecond: message.bytesPerSecond, peer: message.peer ?? ""))
    }
}
