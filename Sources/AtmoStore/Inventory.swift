import AtmoProtocol
import Foundation
import Logging
import Synchronization

/// One model file this node can serve: its catalog entry and where its bytes are.
public struct InventoryItem: Sendable, Equatable {
    public var entry: ModelEntry
    /// Local path of the bytes. Never sent to peers.
    public var path: String
    package var stat: FileIO.Stat
    /// Whether the file is a model on its own, listed in `entries` (the catalog's `models`).
    /// Every item is served by its id either way.
    public var isStandalone = true
    /// For a file of a Hugging Face snapshot: its repository (see `repositories`).
    package var hub: HubFileFacts? = nil
}

/// The models this node offers, kept current by `refresh()`.
///
/// A file is advertised only once its SHA-256 is known: from the hash cache when the file
/// is unchanged (size, mtime, inode, device), from the blob name for Hugging Face LFS
/// blobs (verified by a background hash after all unknown files are hashed, and withdrawn
/// if it does not match), or by hashing it here, off the request path.
///
/// The piece manifest of a file (docs/PROTOCOL.md, "Piece manifests") comes from the same
/// read as its first hash, or from the verifying read of an LFS blob; files hashed before
/// manifests existed get theirs in the background once new files are hashed. An entry
/// names its manifest (`piece_size`, `pieces_sha256`) once the manifest is stored; the
/// digests stay in the database (`manifest(sha256:using:)` reads them).
public final class Inventory: Sendable {
    struct State {
        var items: [String: InventoryItem] = [:]
        var pendingHashes = 0
        /// Increments whenever the advertised set changes (gossip uses it).
        var generation: UInt64 = 0
        /// Scans that ran to the end, hashing included.
        var completedScans = 0
        /// True once the first scan has published what it found (before hashing new files).
        var hasListed = false
        /// How many files the last scan found in each repository snapshot, by the
        /// repository's model id: a repository is offered once all of them are items.
        var repositoryFileCounts: [String: Int] = [:]
        /// The refused snapshot entries already logged (each once while it stays refused).
        var loggedRefusals: Set<String> = []
        /// The repositories built for `generation` (Inventory+Repositories).
        var repositoryCache: (generation: UInt64, repositories: [RepositoryEntry])?
    }

    let scanner: ModelScanner
    let database: StateDatabase
    let logger: Logger
    let state = Mutex(State())
    /// The last manifests read for the pieces route (see Inventory+Manifests).
    let recentManifests = Mutex(RecentManifests())
    /// Bytes and time of this inventory's hashing, for the node's metrics.
    public let hashCounters = HashCounters()

    public init(roots: ScanRoots, database: StateDatabase, logger: Logger) {
        self.scanner = ModelScanner(roots: roots)
        self.database = database
        self.logger = logger
    }

    /// The advertised entries (files usable alone: the catalog's `models`), sorted by id.
    public var entries: [ModelEntry] {
        state.withLock { $0.items.values.filter(\.isStandalone).map(\.entry) }.sorted { $0.modelID < $1.modelID }
    }

    /// Every file this node serves by its id, standalone or a file of a repository only,
    /// sorted by id.
    public var servedEntries: [ModelEntry] {
        state.withLock { $0.items.values.map(\.entry) }.sorted { $0.modelID < $1.modelID }
    }

    public func item(modelID: String) -> InventoryItem? {
        state.withLock { $0.items[modelID] }
    }

    /// Files found but not hashed yet (not advertised until they are).
    public var pendingHashCount: Int { state.withLock { $0.pendingHashes } }

    public var generation: UInt64 { state.withLock { $0.generation } }

    /// How many `refresh()` calls ran to the end; > 0 means every file found at start is
    /// hashed and advertised (or was skipped with a logged reason).
    public var completedScans: Int { state.withLock { $0.completedScans } }

    /// False until the first scan has listed the folders: until then "not found" may only
    /// mean "not looked at yet".
    public var hasListed: Bool { state.withLock { $0.hasListed } }

    /// Rescans every root, publishes what is known at once, then hashes what is new or
    /// changed, publishing each file as soon as its hash is known. Blocking work runs on
    /// `io`'s pool; cancellation stops a hash within one 4 MiB read.
    ///
    /// Installs of the node's own store that a crash cut short are finished first (see
    /// `LocalModelStore.finishInterruptedInstalls`): a pulled file without its sidecar is
    /// not a model of the store, and is not offered.
    public func refresh(using io: BlockingIO = .shared) async throws {
        let scanner = self.scanner
        let database = self.database
        let (report, cache, stored) = try await io.run { () throws -> (ScanReport, [String: (stat: FileIO.Stat, sha256: String)], [String: ManifestReference]) in
            if let pulled = scanner.roots.pulledModels {
                LocalModelStore(directory: pulled.path).finishInterruptedInstalls()
            }
            return (scanner.scanReport(), try database.allCachedHashes(), try database.manifestReferences())
        }
        let files = report.files
        logRefusals(report.refused)
        var manifests = stored
        var ready: [String: InventoryItem] = [:]
        var toHash: [ScannedFile] = []
        var toVerify: [ScannedFile] = []
        var toManifest: [ScannedFile] = []
        for file in files {
            let stat = file.stat
            if let cached = cache[file.path], cached.stat == stat {
                if let known = file.knownSHA256, known != cached.sha256 {
                    logger.error("blob content does not match its name; not offering it", metadata: ["path": "\(file.path)"])
                    continue
                }
                let manifest = manifests[cached.sha256]
                ready[file.modelID] = file.item(sha256: cached.sha256, manifest: manifest)
                if manifest == nil { toManifest.append(file) }
            } else if let known = file.knownSHA256 {
                ready[file.modelID] = file.item(sha256: known, manifest: manifests[known])
                toVerify.append(file)
            } else {
                toHash.append(file)
            }
        }
        publish(ready, pending: toHash.count, repositoryFileCounts: Self.repositoryFileCounts(files, refused: report.refused))
        try await io.run {
            try database.forgetHashes(except: Set(files.map(\.path)))
            try database.forgetUnusedManifests()
        }

        // New files first (not advertised until hashed), then LFS blobs to verify (already
        // advertised), then manifests of files hashed before manifests existed.
        for file in toHash + toVerify {
            try Task.checkCancellation()
            let counted = file.knownSHA256 == nil
            do {
                let (sha256, manifest) = try await hash(file, using: io)
                manifests[sha256] = manifest
                if let known = file.knownSHA256, known != sha256 {
                    logger.error(
                        "blob content does not match its name; withdrawing it",
                        metadata: ["path": "\(file.path)", "expected": "\(known)", "actual": "\(sha256)"])
                    update { $0.items[file.modelID] = nil }
                    continue
                }
                let item = file.item(sha256: sha256, manifest: manifest)
                update { state in
                    state.items[file.modelID] = item
                    if counted { state.pendingHashes = max(0, state.pendingHashes - 1) }
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                logger.warning("cannot hash model file; skipping it", metadata: ["path": "\(file.path)", "error": "\(error)"])
                update { state in
                    if counted { state.pendingHashes = max(0, state.pendingHashes - 1) }
                }
            }
        }
        try await addManifests(to: toManifest, known: &manifests, using: io)
        state.withLock { $0.completedScans += 1 }
    }

    /// Hashes one file with its manifest and remembers both, unless the file changed while
    /// being read.
    func hash(_ file: ScannedFile, using io: BlockingIO) async throws -> (sha256: String, manifest: ManifestReference) {
        let (database, counters, started) = (self.database, hashCounters, ContinuousClock.now)
        return try await io.run { cancellation in
            let (sha256, manifest) = try FileHasher.hashWithManifest(path: file.path, isCancelled: { cancellation.isCancelled })
            counters.record(bytes: file.stat.size, since: started)
            // A small file of a Hugging Face cache is named by its git blob id, the Hub's etag
            // for it: one rewritten with other bytes is not offered (nor its hash remembered,
            // so every scan looks again) rather than served under its old name.
            if let named = file.hub?.blobID, named.utf8.count == 40 {
                let actual = try HubFileDigests.compute(path: file.path).gitBlobID
                guard actual == named else {
                    throw StoreError(.corrupt, "\(file.path) does not match its git blob name \(named) (its bytes give \(actual)); not offering it")
                }
            }
            let after = try FileIO.stat(file.path)
            guard after == file.stat else {
                throw StoreError(.busy, "\(file.path) changed while it was being hashed; it will be hashed on the next scan")
            }
            try database.rememberManifest(sha256: sha256, manifest)
            try database.rememberHash(path: file.path, stat: after, sha256: sha256)
            return (sha256, ManifestReference(manifest))
        }
    }

    private func publish(_ items: [String: InventoryItem], pending: Int, repositoryFileCounts: [String: Int]) {
        update { state in
            state.items = items
            if state.repositoryFileCounts != repositoryFileCounts {
                state.repositoryFileCounts = repositoryFileCounts
                state.generation &+= 1
            }
            state.pendingHashes = pending
            state.hasListed = true
        }
    }

    func update(_ body: (inout State) -> Void) {
        state.withLock { state in
            let before = state.items
            body(&state)
            if state.items != before { state.generation &+= 1 }
        }
    }
}

extension ScannedFile {
    var stat: FileIO.Stat {
        FileIO.Stat(size: sizeBytes, modificationTimeNanos: modificationTimeNanos, inode: inode, device: device)
    }

    /// The inventory item of this file with content `sha256`.
    func item(sha256: String, manifest: ManifestReference? = nil) -> InventoryItem {
        InventoryItem(
            entry: entry(sha256: sha256, manifest: manifest), path: path, stat: stat, isStandalone: isStandalone, hub: hub)
    }

    /// The catalog entry of this file with content `sha256`, naming its piece manifest when
    /// one is known.
    func entry(sha256: String, manifest: ManifestReference? = nil) -> ModelEntry {
        ModelEntry(
            modelID: modelID, name: name, type: type, format: format, sizeBytes: sizeBytes, sha256: sha256,
            version: version, capabilities: Self.capabilities(type: type), source: source, sourceRef: sourceRef,
            metadata: metadata.mapValues { JSONValue.string($0) }, pieceSize: manifest?.pieceSize,
            piecesSHA256: manifest?.sha256)
    }

    static func capabilities(type: String) -> [String] {
        switch type {
        case "llm": return ["text_generation"]
        case "embedding": return ["embedding"]
        case "audio": return ["speech"]
        case "vision": return ["vision"]
        default: return []
        }
    }
}
