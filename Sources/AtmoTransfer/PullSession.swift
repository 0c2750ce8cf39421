import AsyncHTTPClient
import AtmoProtocol
import AtmoStore
import Crypto
import Foundation
import Logging
import NIOCore
import Synchronization

/// The whole-file hash so far: SHA-256 over the first `pieces` pieces. Carried from a
/// session that failed to the next source's session, so the bytes it verified are not
/// read again.
struct HashCheckpoint: Sendable {
    var hasher = SHA256()
    var pieces = 0
}

/// One run of a pull from one source: owns the partial file, the plan shared by the workers
/// and the hasher, and the resume record. Created by `PullEngine.pull` under the artefact's
/// lock; a fail-over creates the next session on the same partial, which resumes from the
/// pieces this one wrote.
final class PullSession: Sendable {
    let engine: PullEngine
    let request: PullRequest
    let entry: ModelEntry
    let source: PullSource
    let peer: any SourceChannel
    let progress: @Sendable (PullProgress) -> Void
    /// One per pull (shared by its sessions), so progress stays one sequence across sources.
    let requestID: String
    /// The partial file and its resume record (shared with the next session of the pull).
    let partial: PartialDownload
    var partialPath: String { partial.path }
    var fd: Int32 { partial.fd }
    let coordinator: PullCoordinator
    /// Bytes on disk when this session started (from an earlier run or an earlier source).
    let startBytes: Int64
    /// Of those, the bytes from an earlier, interrupted run of the pull.
    let earlierRunBytes: Int64
    /// Updated after each piece the hasher takes.
    let hashState: Mutex<HashCheckpoint>
    let bootID = DownloadRecord.currentBootID

    var configuration: PullConfiguration { engine.configuration }
    var logger: Logger { engine.logger }

    /// `checkpoint`: the hash of the session before (same run, same partial), if any.
    /// `earlierRunBytes`: nil for the first session of a pull (its resumed bytes are all
    /// from an earlier run).
    init(
        engine: PullEngine, request: PullRequest, entry: ModelEntry, source: PullSource, peer: any SourceChannel, requestID: String,
        checkpoint: HashCheckpoint?, earlierRunBytes: Int64?, maxAttempts: Int, progress: @escaping @Sendable (PullProgress) -> Void
    ) throws(TransferError) {
        self.engine = engine
        self.request = request
        self.entry = entry
        self.source = source
        self.peer = peer
        self.requestID = requestID
        self.progress = progress
        // Resume only from a record that describes this very partial file; its pieces keep
        // the size they were planned with, even if the configured size changed since.
        partial = try PartialDownload(engine: engine, store: request.destination, entry: entry, pieceSize: nil)
        let pieceSize = partial.pieceSize
        let pieceCount = PiecePlan.pieceCount(totalSize: entry.sizeBytes, pieceSize: pieceSize)
        let resumed = partial.resumed
        // The hash so far is usable only if every piece in it is still among the pieces on disk.
        var start = HashCheckpoint()
        if let checkpoint, let resumed, checkpoint.pieces <= pieceCount, (0..<checkpoint.pieces).allSatisfy({ resumed[$0] }) {
            start = checkpoint
        }
        let plan = PiecePlan(
            totalSize: entry.sizeBytes, pieceSize: pieceSize, resumed: resumed, hashedPrefix: start.pieces,
            maxAhead: max(engine.configuration.maxPiecesAhead, engine.configuration.connections),
            maxAttempts: max(1, maxAttempts), retryBaseDelay: engine.configuration.retryBaseDelaySeconds)
        coordinator = PullCoordinator(plan: plan)
        startBytes = plan.writtenBytes
        self.earlierRunBytes = min(earlierRunBytes ?? plan.writtenBytes, plan.writtenBytes)
        hashState = Mutex(start)
    }

    /// Bytes this session fetched and wrote (what a failed session contributed).
    var fetchedBytes: Int64 { coordinator.plan.writtenBytes - startBytes }

    /// The hash over the pieces verified so far, for the next source's session.
    var hashCheckpoint: HashCheckpoint { hashState.withLock { $0 } }

    /// Transfers, verifies and installs. Returns the bytes fetched over the network.
    func run() async throws(TransferError) -> Int64 {
        var installing = false
        do {
            // The pieces taken over from an earlier run count as durable only once fsynced
            // (a killed process leaves them in the page cache, not yet on the disk).
            let synced = coordinator.plan.writtenPieces
            try await engine.blocking { [self, startBytes] in
                if startBytes > 0 { try FileIO.fsync(fd, path: partialPath) }
                try saveRecord(durable: synced)
            }
            try await announce()
            report(.downloading, bytes: startBytes)
            let digest = try await transfer()
            installing = true
            return try await finish(digest: digest)
        } catch {
            let failure = Self.runFailure(error, installing: installing)
            await abandon(failure)
            throw failure
        }
    }

    /// What a session's run failed with, as the pull reports it: a cancelled pull fails in
    /// whatever its tasks were doing (a connection torn down, a wait ended), so it says
    /// `cancelled`; a full disk before the install says the partial is kept.
    static func runFailure(_ error: any Error, installing: Bool) -> TransferError {
        var failure = transferError(error)
        if Task.isCancelled && failure.code != .hashMismatch && failure.code != .cancelled {
            failure = transferError(CancellationError())
        }
        if failure.code == .storageFull && !installing {
            failure.message += "; free some space and pull again: the partial download is kept and the next pull resumes it"
        }
        return failure
    }

    /// Sends `model_request`, and checks the provider's `model_transfer_start` (when it
    /// has that endpoint) against the catalog entry.
    private func announce() async throws(TransferError) {
        let message = ModelRequest(
            requestID: requestID, requesterNodeID: request.requesterNodeID, targetNodeID: source.nodeID ?? "", modelID: entry.modelID,
            resumeFromByte: startBytes, transport: .http)
        guard let start = try await peer.requestTransfer(message) else { return }
        guard start.sha256 == entry.sha256, start.totalBytes == entry.sizeBytes else {
            throw TransferError(
                .sourceChanged,
                "\(peer.address) now offers \(entry.modelID) as \(start.sha256) (\(start.totalBytes) bytes), not the catalog's \(entry.sha256); pull again")
        }
    }

    /// Runs the workers, the in-order hasher and the ticker until the hash is complete.
    private func transfer() async throws -> String {
        try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<max(1, min(configuration.connections, peer.maxConcurrentPieces)) {
                group.addTask {
                    try await self.fetchLoop()
                    return nil
                }
            }
            group.addTask { try await self.hashLoop() }
            group.addTask {
                await self.tickLoop()
                return nil
            }
            var digest: String? = nil
            while let result = try await group.next() {
                if let result {
                    digest = result
                    group.cancelAll()
                }
            }
            guard let digest else { throw CancellationError() }
            return digest
        }
    }

    /// Checks the digest, installs atomically, forgets the resume state, tells the peer.
    private func finish(digest: String) async throws(TransferError) -> Int64 {
        report(.verifying, bytes: entry.sizeBytes)
        let complete = TransferReport.verified(requestID: requestID, entry: entry, digest: digest)
        guard digest == entry.sha256 else {
            // Nothing here can be trusted: which piece was bad is unknown without piece hashes.
            _ = try? await engine.blocking { [self] in discardPartial() }
            await peer.report(complete, timeout: configuration.reportTimeout(otherwise: nil))
            let resumedNote =
                earlierRunBytes > 0
                ? " (\(earlierRunBytes) bytes came from an earlier run's partial file, which may have been damaged on disk)" : ""
            throw TransferError(
                .hashMismatch,
                "\(entry.modelID) from \(peer.address) has SHA-256 \(digest), expected \(entry.sha256)\(resumedNote); nothing was installed and the partial was discarded, pull again")
        }
        report(.installing, bytes: entry.sizeBytes)
        // Installs, remembers the hash, forgets the resume state; on failure nothing moved.
        _ = try await PartialDownload.install(
            partialPath: partialPath, entry: entry, store: request.destination, downloadedFrom: peer.address, engine: engine)
        await peer.report(complete, timeout: configuration.reportTimeout(otherwise: nil))
        report(.completed, bytes: entry.sizeBytes)
        return entry.sizeBytes - startBytes
    }

    /// Once a version is installed, partials of other versions of the same model id in the
    /// same store are dead weight (often a full preallocated file): remove those no other
    /// process is working on.
    static func discardOtherVersions(of entry: ModelEntry, in store: LocalModelStore, database: StateDatabase) {
        let stale = ((try? database.allDownloads()) ?? []).filter {
            $0.entry.modelID == entry.modelID && $0.entry.sha256 != entry.sha256
                && $0.partialPath == store.partialPath(sha256: $0.entry.sha256)
        }
        for record in stale {
            let lockPath = store.lockPath(sha256: record.entry.sha256)
            guard let fd = try? FileIO.tryLock(lockPath) else { continue }
            unlink(record.partialPath)
            // A sidecar staged by a crashed install of that version goes with its partial:
            // finished later, it would describe this version's file.
            unlink(store.stagedSidecarPath(sha256: record.entry.sha256))
            try? database.deleteDownload(sha256: record.entry.sha256)
            unlink(lockPath)
            FileIO.close(fd)
        }
    }

    /// Keeps what can be resumed and tells the peer why the transfer stopped.
    private func abandon(_ failure: TransferError) async {
        if failure.code != .hashMismatch {
            // Pieces are durable only if the fsync worked; otherwise keep the durable set
            // saved before (the written set is still right within this boot). Runs to the
            // end even when the pull was cancelled.
            let written = coordinator.plan.writtenPieces
            _ = try? await engine.blocking { [self] in
                let synced = (try? FileIO.fsync(fd, path: partialPath)) != nil
                try? saveRecord(durable: synced ? written : nil)
            }
        }
        let cancel = TransferReport.stopped(requestID: requestID, entry: entry, failure: failure, by: request.requesterNodeID)
        // A cancelled task cannot make requests, but the peer should still hear why the
        // transfer stopped: send from a task that is not cancelled, awaited and bounded.
        let (peer, timeout) = (self.peer, configuration.reportTimeout(otherwise: .seconds(2)))
        await Task { await peer.report(cancel, timeout: timeout) }.value
    }

    /// Removes the partial and its record after a failed hash check (`PartialDownload.discard`:
    /// the lock file goes when the pull lets go of it, as the pull may go on with another source).
    func discardPartial() {
        partial.discard()
    }

    /// Records the pieces on disk. `durable` is the set known fsynced; nil keeps the saved one.
    func saveRecord(durable: Bitfield?) throws(StoreError) {
        let written = coordinator.plan.writtenPieces
        let previous = try engine.database.download(sha256: entry.sha256)
        let durableBytes = durable?.bytes ?? previous?.durablePieces ?? Bitfield(count: written.count).bytes
        try engine.database.saveDownload(
            DownloadRecord(
                entry: entry, pieceSize: coordinator.plan.pieceSize, partialPath: partialPath, sourceURL: peer.address,
                durablePieces: durableBytes, writtenPieces: written.bytes, bootID: bootID))
    }

    func report(_ phase: PullProgress.Phase, bytes: Int64, rate: Double = 0, eta: Double? = nil) {
        let plan = coordinator.plan
        progress(
            PullProgress(
                requestID: requestID, modelID: entry.modelID, phase: phase, bytesDone: bytes, totalBytes: entry.sizeBytes,
                resumedBytes: earlierRunBytes, bytesPerSecond: rate, etaSeconds: eta, piecesDone: plan.writtenPieces.setCount,
                pieceCount: plan.pieceCount, peer: peer.address, source: source))
    }

    static func transferError(_ error: any Error) -> TransferError {
        if let error = error as? TransferError { return error }
        if let error = error as? StoreError { return TransferError.from(error) }
        if error is CancellationError { return TransferError(.cancelled, "cancelled; the partial download is kept and the next pull resumes it") }
        return TransferError(.localError, "\(error)", underlying: error)
    }
}
