import AtmoProtocol
import AtmoStore
import Crypto
import Foundation
import NIOCore

/// The partial file of one pull and its resume record: opening it (resuming only from a
/// record that describes this very file), writes, read-backs, recording pieces, and the
/// atomic install. Blocking work runs on the engine's pool.
final class PartialDownload: Sendable {
    let engine: PullEngine
    let store: LocalModelStore
    let entry: ModelEntry
    let path: String
    let fd: Int32
    let pieceSize: Int64
    let pieceCount: Int
    /// Pieces of an earlier run that can be trusted to be on disk (nil: a fresh partial).
    let resumed: Bitfield?
    /// The record found at open, when it describes this file.
    let record: DownloadRecord?

    /// Opens the partial of `entry` in `store`, planned in pieces of `pieceSize` (nil: those of
    /// the earlier run's record, else the configured size). A record of an earlier run kept
    /// in other pieces is mapped: a piece counts as on disk when every byte of it was in the
    /// record's trusted pieces. Blocking.
    init(engine: PullEngine, store: LocalModelStore, entry: ModelEntry, pieceSize: Int64?) throws(TransferError) {
        self.engine = engine
        self.store = store
        self.entry = entry
        path = store.partialPath(sha256: entry.sha256)
        // Decoding bounds every size from the network; an entry built in code is checked too.
        guard (0...WireLimits.maxFileSizeBytes).contains(entry.sizeBytes) else {
            throw TransferError(.protocolViolation, "\(entry.modelID) claims \(entry.sizeBytes) bytes, more than any disk holds")
        }
        let saved: DownloadRecord?
        do { saved = try engine.database.download(sha256: entry.sha256) } catch { throw TransferError.from(error) }
        var matching: DownloadRecord? = nil
        if let saved, saved.partialPath == path, (1...PullConfiguration.maxPieceSize).contains(saved.pieceSize),
            let stat = try? FileIO.stat(path), stat.size == entry.sizeBytes
        {
            matching = saved
        }
        record = matching
        let pieceSize = pieceSize ?? matching?.pieceSize ?? engine.configuration.pieceSize
        self.pieceSize = pieceSize
        pieceCount = PieceManifest.pieceCount(fileSize: entry.sizeBytes, pieceSize: pieceSize)
        let resumed = matching.map { record in
            Self.map(
                Bitfield(
                    count: PieceManifest.pieceCount(fileSize: entry.sizeBytes, pieceSize: record.pieceSize),
                    bytes: record.trustedPieces(currentBootID: DownloadRecord.currentBootID)),
                from: record.pieceSize, to: pieceSize, size: entry.sizeBytes)
        }
        self.resumed = resumed
        var opened: Int32 = -1
        do throws(StoreError) {
            opened = try FileIO.open(path, flags: resumed == nil ? (O_RDWR | O_CREAT | O_TRUNC) : O_RDWR)
            if resumed == nil {
                // Reserve the space now: a full disk shows up before the transfer, not at 99%.
                try FileIO.reserve(opened, size: entry.sizeBytes, path: path)
                if ftruncate(opened, off_t(entry.sizeBytes)) != 0 { throw StoreError.posix(errno, "size", path: path) }
            }
        } catch {
            if opened >= 0 { FileIO.close(opened) }
            if resumed == nil { unlink(path) }
            var failure = TransferError.from(error)
            if failure.code == .storageFull {
                failure.message += "; \(entry.modelID) needs \(entry.sizeBytes) bytes there: free some space and pull again"
            }
            throw failure
        }
        fd = opened
    }

    deinit { FileIO.close(fd) }

    /// The pieces of size `to` whose every byte is in `field`'s pieces of size `from`.
    static func map(_ field: Bitfield, from: Int64, to: Int64, size: Int64) -> Bitfield {
        guard from != to else { return field }
        let count = PieceManifest.pieceCount(fileSize: size, pieceSize: to)
        var mapped = Bitfield(count: count)
        for index in 0..<count {
            let start = Int64(index) * to
            let end = min(size, start + to) - 1
            let first = Int(start / from)
            let last = Int(end / from)
            mapped[index] = last < field.count && (first...last).allSatisfy { field[$0] }
        }
        return mapped
    }

    func write(_ buffer: ByteBuffer, at offset: Int64) async throws {
        let (fd, path) = (self.fd, self.path)
        try await engine.blockingIO.run {
            try buffer.withUnsafeReadableBytes { bytes throws(StoreError) in
                try FileIO.pwrite(fd, bytes, offset: offset, path: path)
            }
        }
    }

    /// `hasher` fed with `length` bytes of the file at `offset`, read from the page cache
    /// (`FileHasher.updateMapped`: no copy into the process).
    func hashBack(_ hasher: SHA256, offset: Int64, length: Int64) async throws -> SHA256 {
        try await FileHasher.hashed(hasher, fd: fd, path: path, from: offset, length: length, on: engine.blockingIO)
    }

    /// Records the pieces on disk; `durable` is the set known fsynced (nil keeps the saved one).
    /// `checked` false: some pieces were written without the piece manifest's check, so the
    /// record does not name the manifest and a resume checks every piece again.
    func saveRecord(written: Bitfield, durable: Bitfield?, source: String, checked: Bool = true) throws(StoreError) {
        let previous = try engine.database.download(sha256: entry.sha256)
        let durableBytes = durable?.bytes ?? previous?.durablePieces ?? Bitfield(count: written.count).bytes
        var recorded = entry
        if !checked { (recorded.pieceSize, recorded.piecesSHA256) = (nil, nil) }
        try engine.database.saveDownload(
            DownloadRecord(
                entry: recorded, pieceSize: pieceSize, partialPath: path, sourceURL: source, durablePieces: durableBytes,
                writtenPieces: written.bytes, bootID: DownloadRecord.currentBootID))
    }

    /// Records which pieces are written (no fsync).
    func recordWritten(_ written: Bitfield) async throws {
        try await engine.blockingIO.run { [self] in try recordWrittenNow(written) }
    }

    /// `recordWritten`, on the caller's thread (blocking: a spliced run's own thread).
    func recordWrittenNow(_ written: Bitfield) throws {
        try engine.database.updateDownloadPieces(sha256: entry.sha256, written: written.bytes, durable: nil, partialPath: path)
    }

    /// fsyncs the file, then records `written` (the pieces written before the fsync) as durable.
    func syncDurable(_ written: Bitfield) async throws {
        let (database, sha256, path, fd) = (engine.database, entry.sha256, self.path, self.fd)
        try await engine.blockingIO.run {
            try FileIO.fsync(fd, path: path)
            try database.updateDownloadPieces(sha256: sha256, written: written.bytes, durable: written.bytes, partialPath: path)
        }
    }

    /// Removes the partial and its resume record (a failed hash check: nothing of it can be
    /// trusted). The artefact's lock file stays: the pull holding it may go on from zero with
    /// another source (or as a plain pull after a swarm), so it goes when that pull lets go of
    /// the lock (`releaseLock`).
    func discard() {
        unlink(path)
        try? engine.database.deleteDownload(sha256: entry.sha256)
    }

    /// Lets go of the artefact's lock `fd` (`PullEngine.lock`, on `store.lockPath(sha256:)`)
    /// when its pull ends, removing the lock file first when no partial of the artefact is
    /// left (installed, or discarded after a failed hash check): it would guard nothing and
    /// stay for ever, one per bad file a peer offered. Only the holder unlinks, and only while
    /// the path still names the file it holds (`FileIO.removeLockFile(_:heldBy:)`): a pull
    /// that opened that file meanwhile finds, once it has the lock, that the path names
    /// another file, and takes the path's next one. A kept partial keeps its lock file.
    /// Blocking.
    static func releaseLock(_ fd: Int32, sha256: String, in store: LocalModelStore) {
        defer { FileIO.close(fd) }
        guard (try? FileIO.stat(store.partialPath(sha256: sha256))) == nil else { return }
        FileIO.removeLockFile(store.lockPath(sha256: sha256), heldBy: fd)
    }

    /// Installs the verified file atomically, remembers its hash (and manifest), forgets the
    /// resume state. Returns the installed path. On failure nothing moved: the verified
    /// partial and its record stay, and the next pull installs it without fetching.
    func install(downloadedFrom source: String) async throws(TransferError) -> String {
        try await Self.install(partialPath: path, entry: entry, store: store, downloadedFrom: source, engine: engine)
    }

    /// Installs the verified partial at `partialPath` (see `install(downloadedFrom:)`), and
    /// removes the id's install lock file afterwards, on failure too, when nobody else holds
    /// or waits on it (`LocalModelStore.removeInstallLock`).
    static func install(
        partialPath: String, entry: ModelEntry, store: LocalModelStore, downloadedFrom source: String, engine: PullEngine
    ) async throws(TransferError) -> String {
        let (verified, partial, database) = (entry, partialPath, engine.database)
        do {
            return try await engine.blockingIO.run {
                // The install lock goes once the install ends, either way, unless another
                // install, removal or eviction of the id holds or waits on it (then it stays).
                defer { store.removeInstallLock(modelID: verified.modelID) }
                let installed = try store.install(partialPath: partial, entry: verified, downloadedFrom: source)
                // Verified while streaming: the inventory need not hash it again to offer it.
                try database.rememberHash(path: installed, stat: try FileIO.stat(installed), sha256: verified.sha256)
                try database.deleteDownload(sha256: verified.sha256)
                unlink(store.lockPath(sha256: verified.sha256))
                PullSession.discardOtherVersions(of: verified, in: store, database: database)
                return installed
            }
        } catch {
            // Nothing moved (or it moved back): the verified partial and its record stay, so
            // the next pull installs it without fetching it again.
            var failure = PullSession.transferError(error)
            if (try? FileIO.stat(partial)) != nil {
                failure.message =
                    "cannot install \(verified.modelID) into \(store.directory): \(failure.message); "
                    + (failure.code == .storageFull ? "free some space and pull again: " : "")
                    + "the verified download is kept and the next pull installs it without downloading it again"
            }
            throw failure
        }
    }
}
