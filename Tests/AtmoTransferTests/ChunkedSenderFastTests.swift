import AtmoProtocol
import Foundation
import Testing

@testable import AtmoTransfer

/// `ChunkSender` in the fast modes: the measured window, go-back-N resends, giving up.
struct ChunkedSenderFastTests {
    typealias F = ChunkedFixtures
    static let binaryRange = F.range(total: 100 * F.mib, chunk: F.mib)
    static let textRange = F.range(total: 100 * F.mib, chunk: 256 * F.kib)

    @Test(arguments: [(TransferMode.fastBinary, binaryRange), (.fastText, textRange)])
    func startsWithFourChunks(_ mode: TransferMode, _ range: ChunkRange) {
        let (sender, actions) = F.sender(mode, range: range)
        #expect(actions.sent == [0, 1, 2, 3])
        #expect(sender.bytesInFlight == 4 * range.chunkSize)
        #expect(sender.estimator.windowBytes == 4 * range.chunkSize)
        #expect(sender.nextDeadline == 3_000)
    }

    @Test func theWindowGrowsWithTheMeasuredBandwidthAndRTT() {
        var (sender, _) = F.sender(.fastBinary, range: Self.binaryRange)
        // 1 MiB acknowledged 20 ms after it was sent: 2 × (1 MiB / 20 ms) × 20 ms + a batch of 1 MiB = 3 MiB.
        _ = sender.receive(ack: F.ack(0), now: 20)
        #expect(sender.estimator.minRTTMs == 20)
        #expect(sender.estimator.windowBytes == 3 * F.mib)
        // 4 MiB delivered in 20 ms, acked in one batch of 3 MiB: 2 × 4 MiB + 3 MiB = 11 MiB.
        let actions = sender.receive(ack: F.ack(3), now: 20)
        #expect(sender.estimator.windowBytes == 11 * F.mib)
        #expect(actions.sent == Array(4..<15))
        #expect(sender.bytesInFlight == 11 * F.mib)
    }

    @Test func theWindowNeverExceedsItsMaximum() {
        var configuration = ChunkSender.Configuration()
        configuration.maxWindowBytes = 6 * F.mib
        var (sender, _) = F.sender(.fastBinary, range: Self.binaryRange, configuration: configuration)
        let actions = sender.receive(ack: F.ack(3), now: 20)
        #expect(sender.estimator.windowBytes == 6 * F.mib)
        #expect(actions.sent == Array(4..<10))
    }

    @Test func theWindowShrinksOnASlowLink() {
        var configuration = ChunkSender.Configuration()
        configuration.initialWindowChunks = 8
        var (sender, start) = F.sender(.fastBinary, range: Self.binaryRange, configuration: configuration)
        #expect(start.sent.count == 8)
        // 1 MiB per second over 1 s, one chunk per ack: 2 × 1 MiB + 1 MiB.
        let actions = sender.receive(ack: F.ack(0), now: 1_000)
        #expect(sender.estimator.windowBytes == 3 * F.mib)
        #expect(actions.sent.isEmpty)
        #expect(sender.bytesInFlight == 7 * F.mib)
        for index: Int64 in 1...4 { #expect(sender.receive(ack: F.ack(index), now: 1_000 * (index + 1)).sent.isEmpty) }
        #expect(sender.receive(ack: F.ack(5), now: 6_000).sent == [8])
    }

    @Test func smallChunksAreCappedInCount() {
        var configuration = ChunkSender.Configuration()
        configuration.maxChunksInFlight = 6
        let range = F.range(total: 100 * F.mib, chunk: 4 * F.kib)
        var (sender, _) = F.sender(.fastText, range: range, configuration: configuration)
        // A fast link would allow far more than 6 chunks of 4 KiB.
        let actions = sender.receive(ack: F.ack(3), now: 1)
        #expect(sender.estimator.windowBytes == 12 * 4 * F.kib)
        #expect(actions.sent == Array(4..<10))
        #expect(sender.inFlightChunkCount == 6)
    }

    @Test func anUnackedChunkIsResentGoBackNAfterTheTimeout() {
        var (sender, _) = F.sender(.fastBinary, range: Self.binaryRange)
        _ = sender.receive(ack: F.ack(0), now: 20)
        // smoothed RTT 20 ms: the timeout is its floor, 1 s, from the last progress.
        #expect(sender.estimator.resendTimeoutMs == 1_000)
        #expect(sender.nextDeadline == 1_020)
        #expect(sender.tick(now: 1_019).isEmpty)
        let actions = sender.tick(now: 1_020)
        let resent = actions.resent
        #expect(resent.first == 1)
        #expect(resent == Array(1..<(1 + Int64(resent.count))))
        #expect(sender.statistics.timeouts == 1)
        #expect(sender.nextDeadline == 2_020)
    }

    @Test func theFirstTimeoutIsThreeSecondsBeforeAnyRTTSample() {
        var (sender, _) = F.sender(.fastText, range: Self.textRange)
        #expect(sender.tick(now: 2_999).isEmpty)
        #expect(sender.tick(now: 3_000).resent == [0, 1, 2, 3])
    }

    @Test func theTimeoutFollowsTheSmoothedRTT() {
        var (sender, _) = F.sender(.fastBinary, range: Self.binaryRange)
        _ = sender.receive(ack: F.ack(0), now: 600)
        #expect(sender.estimator.resendTimeoutMs == 2_400)
    }

    @Test func cancelsAfterThreeResendsWithoutProgress() throws {
        var (sender, _) = F.sender(.fastBinary, range: Self.binaryRange)
        var now: Int64 = 0
        for round in 1...3 {
            now = try #require(sender.nextDeadline)
            #expect(sender.tick(now: now).resent.first == 0, "round \(round)")
        }
        now = try #require(sender.nextDeadline)
        let cancel = try #require(sender.tick(now: now).cancel)
        #expect(cancel.reason == .timeout)
        #expect(cancel.message.contains("chunk 0"))
        #expect(sender.state == .cancelled(.timeout, byPeer: false))
    }

    @Test func progressResetsTheResendCount() throws {
        var (sender, _) = F.sender(.fastBinary, range: Self.binaryRange)
        for _ in 1...3 { _ = sender.tick(now: try #require(sender.nextDeadline)) }
        // Chunk 0 finally arrives: chunk 1 is the oldest now, with no timeout of its own.
        let now = try #require(sender.nextDeadline) - 1
        _ = sender.receive(ack: F.ack(0), now: now)
        for round in 1...3 {
            let actions = sender.tick(now: try #require(sender.nextDeadline))
            #expect(actions.cancel == nil, "round \(round)")
            #expect(actions.resent.first == 1)
        }
        #expect(sender.tick(now: try #require(sender.nextDeadline)).cancel?.reason == .timeout)
    }

    @Test func retransmittedChunksGiveNoRTTSample() {
        var (sender, _) = F.sender(.fastBinary, range: Self.binaryRange)
        _ = sender.tick(now: 3_000)
        _ = sender.receive(ack: F.ack(0), now: 3_010)
        #expect(sender.estimator.minRTTMs == nil)
        #expect(sender.estimator.smoothedRTTMs == nil)
    }

    @Test func cumulativeAcksReleaseEverythingBelow() {
        var (sender, _) = F.sender(.fastText, range: Self.textRange)
        _ = sender.receive(ack: F.ack(2), now: 10)
        #expect(sender.ackedBytes == 3 * 256 * F.kib)
        #expect(sender.receive(ack: F.ack(1), now: 11).isEmpty)
        #expect(sender.statistics.staleAcks == 1)
    }

    @Test func aDuplicateAckDuringAGapChangesNothing() {
        var (sender, _) = F.sender(.fastText, range: Self.textRange)
        _ = sender.receive(ack: F.ack(0), now: 10)
        let inFlight = sender.bytesInFlight
        // The consumer lost chunk 1 and acks 0 again for every later chunk.
        #expect(sender.receive(ack: F.ack(0), now: 11).isEmpty)
        #expect(sender.bytesInFlight == inFlight)
    }

    @Test func finishesWhenTheLastChunkIsAcked() {
        let range = F.range(total: 3 * F.mib + 1, chunk: F.mib)
        var (sender, actions) = F.sender(.fastBinary, range: range)
        #expect(actions.sent == [0, 1, 2, 3])
        #expect(actions.last == .send(ChunkSlice(index: 3, offset: 3 * F.mib, length: 1)))
        #expect(sender.receive(ack: F.ack(3), now: 30) == [.finished])
        #expect(sender.state == .finished)
        #expect(sender.nextDeadline == nil)
    }

    @Test func aResumedRangeStartsAtItsFirstChunk() {
        let range = F.range(total: 10 * F.mib, chunk: F.mib, start: 5 * F.mib + 3)
        let (_, actions) = F.sender(.fastBinary, range: range)
        #expect(actions.sent == [5, 6, 7, 8])
    }

    @Test func framesCarryTheChunkAndItsHash() throws {
        let range = F.range(total: 3 * F.mib, chunk: F.mib)
        let (sender, _) = F.sender(.fastBinary, range: range)
        let slice = ChunkSlice(index: 1, offset: F.mib, length: F.mib)
        let data = F.content(offset: slice.offset, length: slice.length)
        let frame = sender.binaryFrame(slice, data: data)
        #expect(frame.chunkIndex == 1 && frame.requestID == F.requestID)
        #expect(frame.sha256 == ChunkDigest.sha256(data))
        let text = sender.textChunk(slice, data: data)
        #expect(text.totalChunks == 3)
        #expect(text.chunkSHA256 == ChunkDigest.hex(frame.sha256))
        #expect(ReceivedChunk(text) == ReceivedChunk(try FastChunkFrame.decode(try frame.encoded())).with(totalChunks: 3))
    }
}

extension ReceivedChunk {
    func with(totalChunks: Int64?) -> ReceivedChunk {
        var copy = self
        copy.totalChunks = totalChunks
        return copy
    }
}
