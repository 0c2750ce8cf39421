import AtmoProtocol
import Foundation
import AtmoStore
import Synchronization
import Testing

@testable import AtmoTransfer

struct BitfieldTests {
    @Test func setGetAndCount() {
        var field = Bitfield(count: 13)
        #expect(field.bytes.count == 2)
        #expect(field.setCount == 0)
        field[0] = true
        field[7] = true
        field[8] = true
        field[12] = true
        #expect(field[0] && field[7] && field[8] && field[12])
        #expect(!field[1] && !field[11])
        #expect(field.setCount == 4)
        #expect(field.bytes == [0b1000_0001, 0b0001_0001])
        field[7] = false
        #expect(!field[7] && field.setCount == 3)
    }

    @Test func restoresSavedBytesAndClearsBitsPastTheEnd() {
        let restored = Bitfield(count: 10, bytes: [0xFF, 0xFF])
        #expect(restored.setCount == 10)
        #expect(restored.bytes == [0xFF, 0b11])
        var expected = Bitfield(count: 10)
        for index in 0..<10 { expected[index] = true }
        #expect(restored == expected)
    }

    @Test func wrongLengthGivesAnEmptyField() {
        #expect(Bitfield(count: 10, bytes: [0xFF]).setCount == 0)
        #expect(Bitfield(count: 10, bytes: [0xFF, 0xFF, 0xFF]).setCount == 0)
        #expect(Bitfield(count: 0, bytes: []).bytes.isEmpty)
        #expect(Bitfield(count: 8, bytes: [0xFF]).setCount == 8)
    }
}

struct ProgressMeterTests {
    @Test func monotonicAndClampedToTotal() {
        var meter = ProgressMeter(totalBytes: 1000, startBytes: 0)
        #expect(meter.update(rawBytes: 100, now: 0.1).bytes == 100)
        #expect(meter.update(rawBytes: 400, now: 0.2).bytes == 400)
        // A failed piece makes the raw count dip: what is shown never goes backwards.
        #expect(meter.update(rawBytes: 300, now: 0.3).bytes == 400)
        #expect(meter.update(rawBytes: -5, now: 0.35).bytes == 400)
        // More than the total (a duplicate piece counted twice) shows the total.
        let last = meter.update(rawBytes: 5000, now: 0.4)
        #expect(last.bytes == 1000)
        #expect(last.eta == 0)
    }

    @Test func startBytesAreClamped() {
        var over = ProgressMeter(totalBytes: 100, startBytes: 500)
        #expect(over.update(rawBytes: 0, now: 0).bytes == 100)
        var under = ProgressMeter(totalBytes: 100, startBytes: -3)
        #expect(under.update(rawBytes: 0, now: 0).bytes == 0)
    }

    @Test func rateAndETAAreSane() {
        var meter = ProgressMeter(totalBytes: 10_000, startBytes: 2_000, window: 3)
        // No elapsed time yet: no rate, no ETA (not infinity, not zero).
        let first = meter.update(rawBytes: 2_000, now: 0)
        #expect(first.rate == 0 && first.eta == nil)
        // 1000 bytes/s steady: resumed bytes do not inflate the rate.
        var result = first
        for second in 1...4 { result = meter.update(rawBytes: 2_000 + Int64(second) * 1_000, now: Double(second)) }
        #expect(abs(result.rate - 1_000) < 1)
        #expect(result.bytes == 6_000)
        #expect(abs((result.eta ?? -1) - 4) < 0.01)
        // A stall: the rate falls as the window slides, the ETA grows, nothing is negative.
        let stalled = meter.update(rawBytes: 6_000, now: 8)
        #expect(stalled.rate >= 0 && stalled.rate < result.rate)
        #expect(stalled.eta == nil || stalled.eta! > result.eta!)
    }

    @Test func emptyFileIsComplete() {
        var meter = ProgressMeter(totalBytes: 0, startBytes: 0)
        let result = meter.update(rawBytes: 0, now: 1)
        #expect(result.bytes == 0 && result.eta == 0)
        let progress = PullProgress(
            requestID: "r", modelID: "m", phase: .completed, bytesDone: 0, totalBytes: 0, resumedBytes: 0,
            bytesPerSecond: 0, etaSeconds: 0, piecesDone: 0, pieceCount: 0, peer: "p")
        #expect(progress.fraction == 1)
    }

    @Test func progressFractionNeverExceedsOne() {
        var progress = PullProgress(
            requestID: "r", modelID: "m", phase: .downloading, bytesDone: 150, totalBytes: 100, resumedBytes: 0,
            bytesPerSecond: 1_000_000, etaSeconds: 0, piecesDone: 1, pieceCount: 2, peer: "p")
        #expect(progress.fraction == 1)
        progress.bytesDone = 25
        #expect(progress.fraction == 0.25)
        #expect(progress.message.bytesDownloaded == 25)
        #expect(progress.message.totalChunks == 2)
        #expect(abs(progress.message.transferRateMbps - 8) < 0.0001)
    }
}

/// The relay between a pull's sessions and the caller: one monotonic sequence per request
/// id, across a fail-over.
struct ProgressRelayTests {
    static func report(_ id: String, bytes: Int64, pieces: Int, source: String) -> PullProgress {
        PullProgress(
            requestID: id, modelID: "m", phase: .downloading, bytesDone: bytes, totalBytes: 100, resumedBytes: 0, bytesPerSecond: 0,
            etaSeconds: nil, piecesDone: pieces, pieceCount: 4, peer: source, source: PullSource(baseURL: source))
    }

    @Test func aFailOverNeverShowsLessAndANewRequestStartsOver() {
        let log = Mutex<[PullProgress]>([])
        let relay = ProgressRelay { progress in log.withLock { $0.append(progress) } }
        relay.report(Self.report("r1", bytes: 60, pieces: 2, source: "http://a"))
        // The next source starts from the pieces on disk, below the bytes in flight before.
        relay.report(Self.report("r1", bytes: 50, pieces: 1, source: "http://b"))
        relay.report(Self.report("r1", bytes: 150, pieces: 5, source: "http://b"))
        relay.report(Self.report("r2", bytes: 10, pieces: 0, source: "http://c"))
        let shown = log.withLock { $0 }
        #expect(shown.map(\.bytesDone) == [60, 60, 100, 10])
        #expect(shown.map(\.piecesDone) == [2, 2, 5, 0])
        #expect(shown.map(\.peer) == ["http://a", "http://b", "http://b", "http://c"])
        #expect(shown[1].source == PullSource(baseURL: "http://b"))
    }

    @Test func theWireFormNamesTheSource() {
        var progress = Self.report("r", bytes: 1, pieces: 0, source: "http://a")
        #expect(progress.message.extra["peer"] == .string("http://a"))
        #expect(progress.message.extra["peer_node_id"] == nil)
        progress.source = PullSource(baseURL: "http://a", nodeID: "node-a")
        #expect(progress.message.extra["peer_node_id"] == .string("node-a"))
    }
}

struct TransferErrorTests {
    @Test(arguments: [
        (TransferError.Code.peerUnreachable, Int32(3), CancelReason.networkError),
        (.timeout, 3, .timeout),
        (.peerError, 3, .networkError),
        (.notOffered, 4, .networkError),
        (.hashMismatch, 5, .hashMismatch),
        (.sourceChanged, 5, .networkError),
        (.protocolViolation, 5, .networkError),
        (.storageFull, 6, .storageFull),
        (.permissionDenied, 6, .networkError),
        (.localError, 6, .networkError),
        (.alreadyRunning, 7, .networkError),
        (.cancelled, 130, .userCancelled),
    ])
    func exitCodesAndCancelReasons(code: TransferError.Code, exit: Int32, reason: CancelReason) {
        let error = TransferError(code, "x")
        #expect(error.exitCode == exit)
        #expect(error.cancelReason == reason)
    }

    @Test func codesHaveWireNames() {
        #expect(TransferError.Code.hashMismatch.description == "hash_mismatch")
        #expect(TransferError.Code.storageFull.description == "storage_full")
        #expect(TransferError.Code.alreadyRunning.description == "already_running")
        #expect(TransferError.Code.peerUnreachable.description == "peer_unreachable")
        #expect(TransferError.Code.sourceChanged.description == "source_changed")
        #expect(TransferError(.timeout, "the message").description == "the message")
    }

    @Test func storeErrorsKeepTheirMeaning() {
        #expect(TransferError.from(StoreError(.storageFull, "full")).code == .storageFull)
        #expect(TransferError.from(StoreError(.permissionDenied, "no")).code == .permissionDenied)
        #expect(TransferError.from(StoreError(.io, "io")).code == .localError)
        #expect(TransferError.from(StoreError.posix(ENOSPC, "write", path: "/x")).code == .storageFull)
        #expect(PullSession.transferError(CancellationError()).code == .cancelled)
        #expect(PullSession.transferError(StoreError(.storageFull, "full")).code == .storageFull)
    }

    @Test func onlyTransientFailuresAreRetried() {
        #expect(PullSession.isRetriable(TransferError(.timeout, "")))
        #expect(PullSession.isRetriable(TransferError(.peerUnreachable, "")))
        #expect(PullSession.isRetriable(TransferError(.peerError, "")))
        for code: TransferError.Code in [.hashMismatch, .sourceChanged, .protocolViolation, .storageFull, .cancelled, .notOffered] {
            #expect(!PullSession.isRetriable(TransferError(code, "")))
        }
    }
}
