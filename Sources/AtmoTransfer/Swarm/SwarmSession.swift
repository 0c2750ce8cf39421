import AtmoProtocol
import AtmoStore
import Crypto
import Foundation
import Logging
import NIOCore
import Synchronization

/// One source of a swarm pull, as the session sees it.
struct SwarmPeer: Sendable {
    let id: SwarmSchedule.PeerID
    let source: PullSource
    let channel: any SourceChannel
    /// The pieces it holds when the pull starts; nil: the whole file.
    let have: Bitfield?
    /// The node's other routes, best first: when this one is dropped for failures, the next
    /// takes over (the mesh's fail-over from HTTP to WebSocket to relay).
    var alternates: [PullSource] = []
    /// A partial holder: its pieces are asked again every `haveInterval`.
    var refreshesHave: Bool { have != nil }
}

/// One pull fed by every source at once (`SwarmSchedule` decides which piece from which),
/// each piece checked against the file's `PieceManifest` before it is written, and the
/// whole-file SHA-256 of the catalog checked before the install, as the final authority.
/// Verified pieces are offered to other nodes through `PartialOffers` while the pull runs.
final class SwarmSession: Sendable {
    let engine: PullEngine
    let request: PullRequest
    let entry: ModelEntry
    let manifest: PieceManifest
    /// The peers taking part, growing as new holders are found (`discoverPeers`).
    let peerList: Mutex<[SwarmPeer]>
    let partial: PartialDownload
    let coordinator: SwarmCoordinator
    let requestID: String
    let progress: @Sendable (PullProgress) -> Void
    /// Pieces of an earlier run that this one did not fetch.
    let resumedPieces: Bitfield
    /// Bytes of an earlier run kept: trusted at once, or found good by `verifyResumed`.
    var startBytes: Int64 { resumedBytes.withLock { $0 } }
    private let resumedBytes: Mutex<Int64>
    /// Piece writes from the event loop slower than `slowLoopWrite` (`streamPiece`).
    let slowLoopWrites = Atomic<Int>(0)

    var configuration: PullConfiguration { engine.configuration }
    var logger: Logger { engine.logger }

    /// Opens the partial and decides which of an earlier run's pieces count: those of a run
    /// that verified them against this very manifest; the others are verified again from
    /// the disk (`verifyResumed`). Blocking.
    init(
        engine: PullEngine, request: PullRequest, entry: ModelEntry, manifest: PieceManifest, peers: [SwarmPeer], requestID: String,
        progress: @escaping @Sendable (PullProgress) -> Void
    ) throws(TransferError) {
        self.engine = engine
        self.request = request
        self.entry = entry
        self.manifest = manifest
        peerList = Mutex(peers)
        self.requestID = requestID
        self.progress = progress
        partial = try PartialDownload(engine: engine, store: request.destination, entry: entry, pieceSize: manifest.pieceSize)
        resumedPieces = partial.resumed ?? Bitfield(count: manifest.pieceCount)
        let configuration = engine.configuration
        var scheduleConfiguration = SwarmSchedule.Configuration()
        // One whole-file source alone: two runs at a time, one arriving while the other is
        // written, is all the disk and the hasher take (more only costs memory and CPU).
        let alone = peers.count == 1 && peers[0].have == nil
        scheduleConfiguration.maxRequestsPerPeer = alone ? min(2, max(1, configuration.connections)) : max(1, configuration.connections)
        scheduleConfiguration.retryBaseDelay = configuration.retryBaseDelaySeconds
        scheduleConfiguration.salt = UInt64.random(in: .min ... .max)
        // Pieces verified by an earlier run against this manifest are held at once; the
        // rest of what is on disk waits for `verifyResumed`.
        let trusted = Self.wasVerified(partial.record, manifest: manifest, entry: entry) ? resumedPieces : nil
        var schedule = SwarmSchedule(
            totalSize: entry.sizeBytes, pieceSize: manifest.pieceSize, held: trusted, verified: true, configuration: scheduleConfiguration)
        for peer in peers {
            schedule.addPeer(
                peer.id, have: peer.have, channelLimit: peer.channel.maxConcurrentPieces, hasFallback: !peer.alternates.isEmpty, now: 0)
        }
        // Whole pieces wait in memory for the hasher only when they are small. One whole-file
        // source alone: the whole-file hash covers every byte, so piece checks wait until
        // another peer joins or asks for pieces (`checkLoop`), and a bad byte found by the
        // whole-file hash still costs one piece (`repairAfterMismatch`).
        coordinator = SwarmCoordinator(
            schedule: schedule, keepAhead: manifest.pieceSize <= Self.blockSize ? Int(Self.keepAheadBytes / manifest.pieceSize) : 0,
            checksPieces: !alone)
        resumedBytes = Mutex(schedule.heldBytes)
    }

    var peers: [SwarmPeer] { peerList.withLock { $0 } }

    /// Bytes of fetched pieces that may wait in memory for the in-order hasher.
    /// (12 MiB: with 16, a pull from one source alone over `RangeConnection`'s larger reads
    /// peaked at 60-63 MiB RSS, for no measurable gain in time.)
    static let keepAheadBytes: Int64 = 12 * 1024 * 1024

    /// Whether `record` was written by a swarm pull of this manifest (its pieces were
    /// verified before they were written).
    static func wasVerified(_ record: DownloadRecord?, manifest: PieceManifest, entry: ModelEntry) -> Bool {
        guard let record, let reference = record.entry.manifestReference else { return false }
        return reference.pieceSize == manifest.pieceSize && reference.sha256 == entry.piecesSHA256 && record.pieceSize == manifest.pieceSize
    }

    /// Transfers, verifies and installs. Returns the installed path and the bytes fetched.
    func run() async throws(TransferError) -> (path: String, fetched: Int64) {
        let offers = engine.partialOffers
        defer { offers?.end(sha256: entry.sha256) }
        var installing = false
        do {
            try await verifyResumed()
            let kept = coordinator.schedule.heldBytes
            resumedBytes.withLock { $0 = kept }
            let held = coordinator.schedule.heldPieces
            let checked = coordinator.checksPieces
            try await engine.blocking { [self] in
                if held.setCount > 0 { try FileIO.fsync(partial.fd, path: partial.path) }
                try partial.saveRecord(written: held, durable: held, source: sourceSummary, checked: checked)
            }
            offers?.begin(entry: entry, manifest: manifest, partialPath: partial.path, held: held)
            report(.downloading, bytes: coordinator.schedule.heldBytes)
            var digest = try await transfer()
            while digest != entry.sha256, try await repairAfterMismatch() {
                digest = try await transfer()
            }
            installing = true
            return (try await finish(digest: digest), fetchedBytes)
        } catch {
            let failure = PullSession.runFailure(error, installing: installing)
            await abandon(failure)
            throw failure
        }
    }

    /// Bytes fetched by this run and kept.
    var fetchedBytes: Int64 { coordinator.delivered.values.reduce(0, +) }

    /// The peers taking part now, for records and progress: a URL when there is one,
    /// `3 peers (http://a, http://b, relay://c)` when there are several.
    var sourceSummary: String {
        let dropped = coordinator.dropped
        let active = peers.filter { dropped[$0.id] == nil && !coordinator.isRemoved($0.id) }
        let shown = active.isEmpty ? Array(peers.suffix(1)) : active
        let names = shown.prefix(3).map(\.source.baseURL).joined(separator: ", ")
        return shown.count == 1 ? names : "\(shown.count) peers (\(names)\(shown.count > 3 ? ", ..." : ""))"
    }

    /// Runs every peer's workers, the in-order hasher, the ticker and the have refreshes
    /// until the hash is complete.
    private func transfer() async throws -> String {
        try await withThrowingTaskGroup(of: String?.self) { group in
            for peer in peers {
                group.addTask {
                    await self.serve(peer)
                    return nil
                }
                if peer.refreshesHave {
                    group.addTask {
                        await self.refreshHave(of: peer)
                        return nil
                    }
                }
            }
            group.addTask { try await self.hashLoop() }
            group.addTask {
                do {
                    try await self.checkLoop()
                } catch is CancellationError {
                } catch {
                    // Reading the partial back failed: this node's problem, the pull stops.
                    self.coordinator.fail(PullSession.transferError(error))
                }
                return nil
            }
            group.addTask {
                await self.tickLoop()
                return nil
            }
            if let discover = request.discoverSources {
                group.addTask {
                    await self.discoverPeers(discover)
                    return nil
                }
            }
            var digest: String? = nil
            while let result = try await group.next() {
                if let result {
                    digest = result
                    group.cancelAll()
                }
            }
            guard let digest else { throw coordinator.failure ?? CancellationError() }
            return digest
        }
    }

    /// The whole-file hash did not match: if pieces were written unchecked, they are checked
    /// on disk now, and the bad ones go back to missing (blamed on their sender) for another
    /// transfer. True when there is something to fetch again; false when every piece matches
    /// the manifest (then the manifest is what is wrong).
    private func repairAfterMismatch() async throws -> Bool {
        guard coordinator.deferredAny else { return false }
        let pieces = coordinator.uncheckedPieces.keys.sorted()
        report(.verifying, bytes: entry.sizeBytes)
        let (good, bad) = try await checkOnDisk(pieces)
        coordinator.startCheckingPieces(requestsPerPeer: configuration.connections)
        for piece in coordinator.checkedOnDisk(good: good, bad: bad) {
            engine.partialOffers?.pieceVerified(sha256: entry.sha256, index: piece)
        }
        guard !bad.isEmpty else { return false }
        logger.warning(
            "the whole-file hash failed; pieces that failed verification against the piece manifest are fetched again",
            metadata: ["model": "\(entry.modelID)", "pieces": "\(bad.prefix(8))", "count": "\(bad.count)"])
        return true
    }

    /// Checks the digest, installs atomically, tells the peers.
    private func finish(digest: String) async throws(TransferError) -> String {
        report(.verifying, bytes: entry.sizeBytes)
        let complete = TransferReport.verified(requestID: requestID, entry: entry, digest: digest)
        guard digest == entry.sha256 else {
            // Every piece matched the manifest and the whole does not match the catalog: the
            // manifest itself was wrong. Nothing of it can be trusted (nor served).
            engine.partialOffers?.end(sha256: entry.sha256)
            _ = try? await engine.blocking { [self] in partial.discard() }
            await reportToPeers(complete)
            throw TransferError(
                .hashMismatch,
                "\(entry.modelID) has SHA-256 \(digest), expected \(entry.sha256), although every piece matched the piece manifest the peers sent: the manifest was wrong; nothing was installed and the partial was discarded, pull again")
        }
        report(.installing, bytes: entry.sizeBytes)
        let path = try await partial.install(downloadedFrom: sourceSummary)
        await reportToPeers(complete)
        report(.completed, bytes: entry.sizeBytes)
        return path
    }

    /// Keeps what can be resumed and tells the peers why the transfer stopped.
    private func abandon(_ failure: TransferError) async {
        if coordinator.manifestDoubted {
            // Its pieces were checked against a manifest nobody should trust.
            engine.partialOffers?.end(sha256: entry.sha256)
            _ = try? await engine.blocking { [self] in partial.discard() }
        } else if failure.code != .hashMismatch {
            let held = coordinator.schedule.heldPieces
            let checked = coordinator.allHeldChecked
            _ = try? await engine.blocking { [self] in
                let synced = (try? FileIO.fsync(partial.fd, path: partial.path)) != nil
                try? partial.saveRecord(written: held, durable: synced ? held : nil, source: sourceSummary, checked: checked)
            }
        }
        let cancel = TransferReport.stopped(requestID: requestID, entry: entry, failure: failure, by: request.requesterNodeID)
        await Task { [self] in await reportToPeers(cancel, timeout: .seconds(2)) }.value
    }

    /// `standard`: the report's own deadline, unless the configuration sets one for all.
    private func reportToPeers(_ outcome: TransferReport, timeout standard: TimeAmount = .seconds(5)) async {
        let timeout = configuration.reportTimeout(otherwise: standard)
        await withTaskGroup(of: Void.self) { group in
            for peer in peers { group.addTask { await peer.channel.report(outcome, timeout: timeout) } }
        }
    }

    func report(_ phase: PullProgress.Phase, bytes: Int64, rate: Double = 0, eta: Double? = nil) {
        let schedule = coordinator.schedule
        progress(
            PullProgress(
                requestID: requestID, modelID: entry.modelID, phase: phase, bytesDone: bytes, totalBytes: entry.sizeBytes,
                resumedBytes: startBytes, bytesPerSecond: rate, etaSeconds: eta, piecesDone: schedule.heldCount,
                pieceCount: schedule.pieceCount, peer: sourceSummary, source: peers.first?.source))
    }
}
