import AtmoProtocol
import AtmoStore
import Foundation
import Logging
import Synchronization

/// Pulls a repository (a `RepositoryEntry`: one Hugging Face snapshot) where tools find it.
///
/// Each selected file is checked at its destination first (installed already: skipped; its
/// blob already in the cache: only linked), then in the node's store (the same bytes pulled
/// before, by SHA-256: linked from there), and only then fetched with the `PullEngine` as a
/// single-file model by its own `model_id` (every source of the repository at once when it
/// names a piece manifest, fail-over, resume of a killed pull, SHA-256 checked while it
/// arrives) into the store's partials, and installed from there: hard-linked into the
/// destination where the file system allows, copied where not. A file fetched only for the
/// Hugging Face cache or LlamaFarm does not stay in the store as a model of its own (its
/// bytes stay, once, in the destination). Files go one after another; a repository pull
/// killed half-way resumes with the files it has and the partial of the one it was on.
public struct RepositoryPuller: Sendable {
    public var engine: PullEngine
    /// The node's store: partial downloads, files pulled before, and `.store` installs.
    public var store: LocalModelStore
    /// This node's id, sent as `requester_node_id`.
    public var requesterNodeID: String
    let logger: Logger

    public init(engine: PullEngine, store: LocalModelStore, requesterNodeID: String, logger: Logger) {
        self.engine = engine
        self.store = store
        self.requesterNodeID = requesterNodeID
        self.logger = logger
    }

    /// Pulls the files of `entry` that `selection` takes from `sources` (the nodes offering
    /// the repository, best first) into `destination`, and says where it is and what it
    /// consists of. `progress` hears byte-weighted reports over all the selected files.
    public func pull(
        _ entry: RepositoryEntry, from sources: [PullSource], providers: [String: RepositoryEntry] = [:],
        files selection: RepositoryFileSelection = .all,
        into destination: RepositoryDestination, progress: @escaping @Sendable (RepositoryPullProgress) -> Void = { _ in }
    ) async throws(TransferError) -> InstalledRepository {
        try await pull(entry, sources: { _ in sources }, providers: providers, files: selection, into: destination, progress: progress)
    }

    /// As `pull(_:from:files:into:progress:)`, each file from its own sources (the nodes
    /// holding that file, best first: a node that pulled some files of the repository
    /// offers only those). `providers` are the entries the sources' nodes announced for
    /// this commit, by node id: a node offering it under ids of its own (a tag beside
    /// another `main`: `{org}--{name}-{hash}`) is asked for each file by its own id.
    public func pull(
        _ entry: RepositoryEntry, sources: @escaping @Sendable (RepositoryFile) -> [PullSource],
        providers: [String: RepositoryEntry] = [:], files selection: RepositoryFileSelection = .all,
        into destination: RepositoryDestination, progress: @escaping @Sendable (RepositoryPullProgress) -> Void = { _ in }
    ) async throws(TransferError) -> InstalledRepository {
        let started = ContinuousClock.now
        let layout = try RepositoryLayout(entry: entry, destination: destination, store: store)
        let chosen = try selection.files(of: entry)
        let meter = RepositoryProgressMeter(
            modelID: entry.modelID, fileCount: chosen.count, totalBytes: chosen.reduce(0) { $0 + $1.sizeBytes }, sink: progress)
        // Kept-alive connections to the plain-HTTP sources, for every file; closed with the pull.
        let connections = RepositoryConnections(self.engine.configuration)
        defer { connections.close() }
        let engine = self.engine.offering(entry, providers: providers, connections: connections)
        // Before any byte moves: no file of a commit the cache holds is replaced, and the
        // destination can take the files.
        if let (file, reason) = try await engine.blocking({ layout.heldConflict(chosen) }) {
            let peers = sources(file).map { $0.nodeID ?? $0.baseURL }
            throw TransferError(
                .hashMismatch,
                "\(peers.isEmpty ? "the mesh" : peers.joined(separator: ", ")) offers \(file.path) of \(entry.repoID) at commit "
                    + "\(entry.revision) as blob \(file.blobID), but the Hugging Face cache holds that commit's file: \(reason). "
                    + "A commit never changes: the pull is refused and the cached file kept")
        }
        try await engine.blocking { try layout.prepareDestination(chosen) }
        meter.report()
        var installed: [InstalledRepositoryFile] = []
        var transferred: Int64 = 0
        do throws(TransferError) {
            for file in chosen {
                if Task.isCancelled { throw PullSession.transferError(CancellationError()) }
                meter.begin(file.path)
                let done = try await pull(file, of: entry, layout: layout, sources: sources(file), engine: engine, meter: meter)
                transferred += done.bytesTransferred
                installed.append(done)
                meter.finish(file.sizeBytes)
                logger.debug("repository file installed", metadata: ["path": "\(file.path)", "outcome": "\(done.outcome.rawValue)"])
            }
            try await engine.blocking { try layout.finish() }
        } catch {
            await tidy(after: chosen, engine: engine)
            throw error
        }
        await tidy(after: chosen, engine: engine)
        return InstalledRepository(
            entry: entry, destination: destination, path: layout.location, files: installed, bytesTransferred: transferred,
            seconds: (ContinuousClock.now - started).seconds)
    }

    /// One file: skipped, linked, taken from the store, or fetched, then installed.
    private func pull(
        _ file: RepositoryFile, of entry: RepositoryEntry, layout: RepositoryLayout, sources: [PullSource], engine: PullEngine,
        meter: RepositoryProgressMeter
    ) async throws(TransferError) -> InstalledRepositoryFile {
        let store = self.store
        func installed(_ location: String, _ outcome: RepositoryFileOutcome, _ bytes: Int64 = 0) -> InstalledRepositoryFile {
            InstalledRepositoryFile(
                path: file.path, location: location, sizeBytes: file.sizeBytes, sha256: file.sha256, outcome: outcome,
                bytesTransferred: bytes)
        }
        if let done = try await engine.blocking({ try layout.installedAlready(file) }) {
            return installed(done.location, done.outcome)
        }
        // The same bytes in the store already (pulled before, under any id).
        if let local = try await engine.blocking({ Self.storeCopy(of: file, in: store) }) {
            let location = try await engine.blocking { try layout.install(file, from: local, sha256Verified: false) }
            return installed(location, .fromStore)
        }
        // Fetched for another destination, the file goes through the store; a model the store
        // holds under that id (other bytes) is never replaced nor removed: the file then goes
        // through a scratch store of the puller's own.
        let forOtherDestination = layout.destination != .store
        var held: InstalledModel? = nil
        if forOtherDestination { held = try await engine.blocking { store.installed(modelID: file.modelID) } }
        if held == nil {
            return try await fetch(file, of: entry, layout: layout, sources: sources, into: store, held: false, engine: engine, meter: meter)
        }
        return try await withScratch(of: store, engine: engine) { scratch throws(TransferError) in
            try await fetch(file, of: entry, layout: layout, sources: sources, into: scratch, held: true, engine: engine, meter: meter)
        }
    }

    /// Fetches the file into `target` (the store, or the scratch store when the store holds
    /// another model under its id: `held`), installs it, and drops the copy it made there
    /// when the file goes elsewhere.
    private func fetch(
        _ file: RepositoryFile, of entry: RepositoryEntry, layout: RepositoryLayout, sources: [PullSource], into target: LocalModelStore,
        held: Bool, engine: PullEngine, meter: RepositoryProgressMeter
    ) async throws(TransferError) -> InstalledRepositoryFile {
        var request = PullRequest(
            modelID: file.modelID, sources: sources, destination: target, expectedSHA256: file.sha256, requesterNodeID: requesterNodeID)
        request.announcedEntry = file.modelEntry(in: entry)
        let result = try await engine.pull(request) { progress in meter.update(progress) }
        // Its bytes live in the destination now (or the install failed): not a model of the store.
        let drop = layout.destination != .store && (held || !result.alreadyInstalled)
        let location: String
        do {
            location = try await engine.blocking { try Self.install(file, of: entry, from: result.path, layout: layout) }
        } catch {
            if drop { await dropCopy(of: file, from: target, engine: engine) }
            throw error
        }
        if drop { await dropCopy(of: file, from: target, engine: engine) }
        return InstalledRepositoryFile(
            path: file.path, location: location, sizeBytes: file.sizeBytes, sha256: file.sha256,
            outcome: result.alreadyInstalled ? .fromStore : .fetched, bytesTransferred: result.bytesTransferred)
    }

    /// A model of the store with the file's bytes (same SHA-256 and size), if any. Blocking.
    static func storeCopy(of file: RepositoryFile, in store: LocalModelStore) -> String? {
        for model in store.installed() where model.sha256 == file.sha256 && model.sizeBytes == file.sizeBytes {
            let path = store.filePath(of: model)
            if let stat = try? FileIO.stat(path), stat.size == file.sizeBytes { return path }
        }
        return nil
    }
}

/// Progress over the selected files, byte-weighted and never backwards.
final class RepositoryProgressMeter: Sendable {
    private let state: Mutex<RepositoryPullProgress>
    private let completedBytes = Mutex<Int64>(0)
    private let sink: @Sendable (RepositoryPullProgress) -> Void

    init(modelID: String, fileCount: Int, totalBytes: Int64, sink: @escaping @Sendable (RepositoryPullProgress) -> Void) {
        state = Mutex(RepositoryPullProgress(modelID: modelID, filesDone: 0, fileCount: fileCount, bytesDone: 0, totalBytes: totalBytes))
        self.sink = sink
    }

    func report() { sink(state.withLock { $0 }) }

    func begin(_ path: String) {
        state.withLock { $0.currentPath = path }
    }

    func update(_ file: PullProgress) {
        let base = completedBytes.withLock { $0 }
        let shown = state.withLock { state -> RepositoryPullProgress in
            state.file = file
            state.bytesDone = max(state.bytesDone, min(state.totalBytes, base + file.bytesDone))
            return state
        }
        sink(shown)
    }

    func finish(_ bytes: Int64) {
        let base = completedBytes.withLock { total -> Int64 in
            total += bytes
            return total
        }
        let shown = state.withLock { state -> RepositoryPullProgress in
            state.filesDone += 1
            state.file = nil
            state.bytesDone = max(state.bytesDone, min(state.totalBytes, base))
            return state
        }
        sink(shown)
    }
}
