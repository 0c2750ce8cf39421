import AtmoProtocol
import Foundation
import Testing

@testable import AtmoTransfer

/// `ChunkReceiver`: in-order delivery, verification, duplicates, gaps, violations, ending.
struct ChunkedReceiverTests {
    typealias F = ChunkedFixtures
    static let compatRange = F.range(total: 5 * 64 * F.kib + 100, chunk: 64 * F.kib)
    static let textRange = F.range(total: 40 * 256 * F.kib, chunk: 256 * F.kib)

    @Test func compatDeliversInOrderAndAcksEveryChunk() {
        var (receiver, _) = F.receiver(.compat, range: Self.compatRange)
        var delivered = Data()
        for index in 0..<Self.compatRange.endChunk {
            let actions = receiver.receive(chunk: F.chunk(index, of: Self.compatRange), now: index)
            #expect(actions.acks.map(\.chunkIndex) == [index])
            #expect(actions.acks.first?.cumulative == true)
            #expect(actions.acks.first?.receivedBytes == Self.compatRange.bytesThrough(index))
            for delivery in actions.deliveries {
                #expect(delivery.offset == Int64(delivered.count))
                delivered.append(delivery.data)
            }
            #expect(actions.isComplete == (index == Self.compatRange.endChunk - 1))
        }
        #expect(delivered == F.content(offset: 0, length: Self.compatRange.totalBytes))
        #expect(receiver.state == .complete)
        #expect(receiver.statistics.chunksAccepted == 6)
    }

    @Test func duplicatesAreIgnoredButAckedAgain() {
        var (compat, _) = F.receiver(.compat, range: Self.compatRange)
        _ = compat.receive(chunk: F.chunk(0, of: Self.compatRange), now: 0)
        _ = compat.receive(chunk: F.chunk(1, of: Self.compatRange), now: 1)
        let again = compat.receive(chunk: F.chunk(0, of: Self.compatRange), now: 2)
        #expect(again.deliveries.isEmpty)
        #expect(again.acks.map(\.chunkIndex) == [0])
        #expect(compat.statistics.duplicates == 1)

        var (fast, _) = F.receiver(.fastText, range: Self.textRange)
        _ = fast.receive(chunk: F.chunk(0, of: Self.textRange), now: 0)
        _ = fast.receive(chunk: F.chunk(1, of: Self.textRange), now: 1)
        let dup = fast.receive(chunk: F.chunk(0, of: Self.textRange), now: 2)
        #expect(dup.deliveries.isEmpty)
        #expect(dup.acks.map(\.chunkIndex) == [1])
    }

    @Test func aChunkWithABadHashIsRejectedAndTheThirdBadCopyCancels() throws {
        var (receiver, _) = F.receiver(.fastText, range: Self.textRange)
        for copy in 1...2 {
            #expect(receiver.receive(chunk: F.chunk(0, of: Self.textRange, corrupt: true), now: Int64(copy)).isEmpty)
        }
        #expect(receiver.statistics.badChunks == 2)
        #expect(receiver.nextExpectedChunk == 0)
        let cancel = try #require(receiver.receive(chunk: F.chunk(0, of: Self.textRange, corrupt: true), now: 3).cancel)
        #expect(cancel.reason == .hashMismatch)
        #expect(cancel.message.contains("chunk 0 failed its SHA-256 check 3 times"))
        #expect(receiver.state == .cancelled(.hashMismatch, byPeer: false))
    }

    @Test func aGoodCopyResetsTheBadCount() {
        var (receiver, _) = F.receiver(.compat, range: Self.compatRange)
        for index: Int64 in 0...1 {
            _ = receiver.receive(chunk: F.chunk(index, of: Self.compatRange, corrupt: true), now: 0)
            _ = receiver.receive(chunk: F.chunk(index, of: Self.compatRange, corrupt: true), now: 0)
            #expect(receiver.receive(chunk: F.chunk(index, of: Self.compatRange), now: 0).acks.count == 1)
        }
        #expect(receiver.state == .receiving)
        #expect(receiver.statistics.badChunks == 4)
    }

    @Test func aChunkWithoutHashIsAcceptedUnverified() {
        var (receiver, _) = F.receiver(.compat, range: Self.compatRange)
        var chunk = F.chunk(0, of: Self.compatRange)
        chunk.sha256 = nil
        #expect(receiver.receive(chunk: chunk, now: 0).deliveries.count == 1)
        #expect(receiver.statistics.unverifiedChunks == 1)
    }

    @Test func aChunkAheadIsDroppedAndTheGapAckedAtOnce() {
        var (fast, _) = F.receiver(.fastText, range: Self.textRange)
        _ = fast.receive(chunk: F.chunk(0, of: Self.textRange), now: 0)
        let ahead = fast.receive(chunk: F.chunk(2, of: Self.textRange), now: 1)
        #expect(ahead.deliveries.isEmpty)
        #expect(ahead.acks.map(\.chunkIndex) == [0])
        #expect(fast.statistics.gaps == 1)
        #expect(fast.receive(chunk: F.chunk(1, of: Self.textRange), now: 2).deliveries.map(\.offset) == [256 * F.kib])
        #expect(fast.receive(chunk: F.chunk(2, of: Self.textRange), now: 3).deliveries.map(\.offset) == [512 * F.kib])

        var (compat, _) = F.receiver(.compat, range: Self.compatRange)
        _ = compat.receive(chunk: F.chunk(0, of: Self.compatRange), now: 0)
        #expect(compat.receive(chunk: F.chunk(2, of: Self.compatRange), now: 1).isEmpty)
    }

    @Test func aGapBeforeAnythingArrivedSendsNoAck() {
        var (receiver, _) = F.receiver(.fastBinary, range: F.range(total: 8 * F.mib, chunk: F.mib))
        #expect(receiver.receive(chunk: F.chunk(1, of: receiver.range), now: 0).isEmpty)
        #expect(receiver.nextDeadline == 60_000)
    }

    @Test func violationsCancelWithProtocolError() throws {
        let range = Self.compatRange
        var wrongLength = F.chunk(0, of: range)
        wrongLength.data.append(0)
        var wrongTotal = F.chunk(0, of: range)
        wrongTotal.totalChunks = 99
        let cases: [(ReceivedChunk, String)] = [
            (F.chunk(0, of: range, id: "other"), "request other"),
            (ReceivedChunk(requestID: F.requestID, chunkIndex: 6, data: Data(), sha256: nil), "outside"),
            (wrongLength, "holds 65537 bytes, expected 65536"), (wrongTotal, "total_chunks 99"),
        ]
        for (chunk, words) in cases {
            var (receiver, _) = F.receiver(.compat, range: range)
            let cancel = try #require(receiver.receive(chunk: chunk, now: 0).cancel)
            #expect(cancel.reason == .protocolError)
            #expect(cancel.message.contains(words), "\(cancel.message)")
            #expect(receiver.receive(chunk: F.chunk(0, of: range), now: 1).isEmpty)
        }
    }

    @Test func aChunkBeforeAResumedRangeIsOutOfRange() throws {
        let range = F.range(total: 10 * F.mib, chunk: F.mib, start: 3 * F.mib)
        var (receiver, _) = F.receiver(.fastBinary, range: range)
        let chunk = ReceivedChunk(requestID: F.requestID, chunkIndex: 2, data: Data(count: Int(F.mib)), sha256: nil)
        #expect(try #require(receiver.receive(chunk: chunk, now: 0).cancel).reason == .protocolError)
    }

    @Test func aNonAlignedResumeDeliversFromTheResumePoint() {
        let range = F.range(total: 300, chunk: 64, start: 100)
        var (receiver, _) = F.receiver(.compat, range: range, deliverFrom: 100)
        let first = receiver.receive(chunk: F.chunk(1, of: range), now: 0)
        #expect(first.deliveries.map(\.offset) == [100])
        #expect(first.deliveries.first?.data == F.content(offset: 100, length: 28))
        #expect(first.acks.first?.receivedBytes == 64)
        var delivered = first.deliveries.first?.data ?? Data()
        for index: Int64 in 2...4 {
            let actions = receiver.receive(chunk: F.chunk(index, of: range), now: index)
            delivered.append(contentsOf: actions.deliveries.flatMap(\.data))
        }
        #expect(delivered == F.content(offset: 100, length: 200))
        #expect(receiver.state == .complete)
        #expect(receiver.deliveredBytes == 200)
    }

    @Test func deliveriesStopAtTheRequestedEnd() {
        let range = F.range(total: 300, chunk: 64, end: 70)
        var receiver = ChunkReceiver(
            requestID: F.requestID, modelID: F.modelID, localNodeID: F.consumer, mode: .compat, range: range, deliverTo: 70)
        _ = receiver.start(now: 0)
        #expect(receiver.receive(chunk: F.chunk(0, of: range), now: 0).deliveries.map(\.data.count) == [64])
        let last = receiver.receive(chunk: F.chunk(1, of: range), now: 1)
        #expect(last.deliveries.map(\.offset) == [64] && last.deliveries.map(\.data.count) == [6])
        #expect(last.isComplete)
    }

    @Test func aOneByteFileAndAnEmptyRange() {
        let one = F.range(total: 1, chunk: F.mib)
        var (receiver, _) = F.receiver(.fastBinary, range: one)
        let actions = receiver.receive(chunk: F.chunk(0, of: one), now: 0)
        #expect(actions.deliveries.map(\.data.count) == [1])
        #expect(actions.acks.map(\.chunkIndex) == [0])
        #expect(actions.isComplete)

        let (empty, startActions) = F.receiver(.fastBinary, range: F.range(total: 10, chunk: F.mib, start: 10))
        #expect(startActions == [.complete])
        #expect(empty.nextDeadline == nil)
    }

    @Test func afterCompletionResentChunksAreAckedAgain() {
        let one = F.range(total: 1, chunk: F.mib)
        var (receiver, _) = F.receiver(.fastBinary, range: one)
        _ = receiver.receive(chunk: F.chunk(0, of: one), now: 0)
        let again = receiver.receive(chunk: F.chunk(0, of: one), now: 5)
        #expect(again.deliveries.isEmpty && !again.isComplete)
        #expect(again.acks.map(\.chunkIndex) == [0])
    }

    @Test func cancelsAfterTheIdleTimeout() throws {
        var (fast, _) = F.receiver(.fastBinary, range: F.range(total: 8 * F.mib, chunk: F.mib))
        #expect(fast.tick(now: 59_999).isEmpty)
        let cancel = try #require(fast.tick(now: 60_000).cancel)
        #expect(cancel.reason == .timeout)
        #expect(cancel.message.contains("60 s"))

        var (compat, _) = F.receiver(.compat, range: Self.compatRange)
        _ = compat.receive(chunk: F.chunk(0, of: Self.compatRange), now: 1_000)
        #expect(compat.nextDeadline == 151_000)
        #expect(compat.tick(now: 151_000).cancel?.reason == .timeout)
    }

    @Test func theProvidersCancelEndsTheTransfer() {
        var (receiver, _) = F.receiver(.compat, range: Self.compatRange)
        let theirs = ModelTransferCancel(
            requestID: F.requestID, modelID: F.modelID, reason: .timeout, message: "no ack", cancelledBy: F.provider)
        #expect(receiver.receive(cancel: theirs) == [.peerCancelled(theirs)])
        #expect(receiver.state == .cancelled(.timeout, byPeer: true))
        #expect(receiver.receive(chunk: F.chunk(0, of: Self.compatRange), now: 0).isEmpty)
        #expect(receiver.nextDeadline == nil)
    }

    @Test func cancellingSendsTheReason() throws {
        var (receiver, _) = F.receiver(.fastText, range: Self.textRange)
        let cancel = try #require(receiver.cancel(reason: .storageFull, message: "no room for 10 MiB").cancel)
        #expect(cancel.reason == .storageFull && cancel.cancelledBy == F.consumer)
        #expect(receiver.cancel(reason: .userCancelled, message: "again").isEmpty)
    }
}
