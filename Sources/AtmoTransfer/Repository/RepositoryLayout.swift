import AtmoProtocol
import AtmoStore
import Foundation

/// Where each file of one repository goes in one destination, and how it gets there. Every
/// path is checked before a pull starts (`HubCacheFile.problem`, no file inside another's
/// path), so no file of a hostile entry is ever written, in any destination. Its methods
/// are blocking (the puller runs them on the engine's pool).
struct RepositoryLayout: Sendable {
    let entry: RepositoryEntry
    let destination: RepositoryDestination
    let store: LocalModelStore
    /// Where tools find the repository (`InstalledRepository.path`).
    let location: String

    init(entry: RepositoryEntry, destination: RepositoryDestination, store: LocalModelStore) throws(TransferError) {
        self.entry = entry
        self.destination = destination
        self.store = store
        guard HubCache.isValidRepositoryID(entry.repoID), HubCache.isValidRevision(entry.revision) else {
            throw TransferError(.protocolViolation, "the repository \(entry.repoID.debugDescription) has an invalid id or revision")
        }
        for file in entry.files {
            if let problem = Self.cacheFile(file).problem { throw TransferError(.protocolViolation, "\(entry.repoID): \(problem)") }
        }
        if let clash = HubCache.conflictingPaths(entry.files.map(Self.cacheFile)).first {
            throw TransferError(.protocolViolation, "\(entry.repoID) lists \(clash) both as a file and as a folder (or twice)")
        }
        // A file's id names the model the store installs it as: only its own.
        if let problem = entry.fileIDProblem { throw TransferError(.protocolViolation, "\(entry.repoID): \(problem)") }
        switch destination {
        case .huggingFace(let cache):
            location = cache.snapshotFolder(repositoryID: entry.repoID, revision: entry.revision) ?? cache.root
        case .store:
            location = store.directory
        case .llamaFarm(let root):
            location = root + "/" + Self.llamaFarmCategory(entry) + "/" + entry.modelID
        }
    }

    static func cacheFile(_ file: RepositoryFile) -> HubCacheFile {
        HubCacheFile(path: file.path, sizeBytes: file.sizeBytes, sha256: file.sha256, blobID: file.blobID)
    }

    /// LlamaFarm's category folder for the repository's type (`llm`, `vision`, `audio`,
    /// `embedding`), `other` when it has none of those.
    static func llamaFarmCategory(_ entry: RepositoryEntry) -> String {
        entry.kind == .unknown ? "other" : entry.kind.rawValue
    }

    /// The file's place when it is there already: installed (nothing to do), or, in a
    /// Hugging Face cache, its blob is there and only the snapshot's symlink was missing
    /// (written now). Nil when its bytes are needed.
    func installedAlready(_ file: RepositoryFile) throws(StoreError) -> (location: String, outcome: RepositoryFileOutcome)? {
        switch destination {
        case .huggingFace(let cache):
            let cached = Self.cacheFile(file)
            let pointer = location + "/" + file.path
            switch HubCache.step(for: cached, observed: cache.observe(cached, repositoryID: entry.repoID, revision: entry.revision)) {
            case .installed: return (pointer, .alreadyInstalled)
            case .linkExistingBlob:
                try cache.linkSnapshotFile(cached, repositoryID: entry.repoID, revision: entry.revision)
                return (pointer, .reusedBlob)
            case .needsBlob: return nil
            }
        case .store:
            guard let model = store.installed(modelID: file.modelID), model.sha256 == file.sha256,
                let stat = try? FileIO.stat(store.filePath(of: model)), stat.size == file.sizeBytes
            else { return nil }
            return (store.filePath(of: model), .alreadyInstalled)
        case .llamaFarm:
            let target = location + "/" + file.path
            guard case .file(let size) = HubCache.kind(target), size == file.sizeBytes,
                let digests = try? HubFileDigests.compute(path: target), digests.sha256 == file.sha256
            else { return nil }
            return (target, .alreadyInstalled)
        }
    }

    /// Installs the file from `source` (a verified file of the store); returns where tools
    /// find it.
    func install(_ file: RepositoryFile, from source: String, sha256Verified: Bool) throws(StoreError) -> String {
        switch destination {
        case .huggingFace(let cache):
            let cached = Self.cacheFile(file)
            try cache.installBlob(cached, repositoryID: entry.repoID, from: source, sha256Verified: sha256Verified)
            try cache.linkSnapshotFile(cached, repositoryID: entry.repoID, revision: entry.revision)
            return location + "/" + file.path
        case .store:
            return source
        case .llamaFarm(let root):
            if !sha256Verified {
                let digests = try HubFileDigests.compute(path: source)
                guard digests.sha256 == file.sha256, digests.sizeBytes == file.sizeBytes else {
                    throw StoreError(.corrupt, "\(source) is not \(file.path) (sha256 \(digests.sha256))")
                }
            }
            try FileIO.makeDirectory(root)
            var directory = root
            for segment in [Self.llamaFarmCategory(entry), entry.modelID] + file.path.split(separator: "/").dropLast().map(String.init) {
                directory += "/" + segment
                try HubCache.ensureRealDirectory(directory)
            }
            let target = location + "/" + file.path
            if HubCache.kind(target) == .directory { throw StoreError(.conflict, "\(target) is a folder, where \(file.path) goes") }
            _ = try HubCache.place(source, at: target, size: file.sizeBytes)
            return target
        }
    }

    /// After the files: a Hugging Face cache gets the refs naming the revision (`main`...).
    func finish() throws(StoreError) {
        guard case .huggingFace(let cache) = destination else { return }
        for ref in entry.refs where HubCache.isValidRefName(ref) {
            try cache.writeRef(ref, revision: entry.revision, repositoryID: entry.repoID)
        }
    }
}
