import AtmoProtocol
import Foundation
import Testing

@testable import AtmoTransfer

/// `ChunkReceiver`'s cumulative acks in the fast modes: thresholds, the delayed ack, the
/// minimum interval.
struct ChunkedReceiverAckTests {
    typealias F = ChunkedFixtures

    @Test func fastTextAcksEveryFourChunks() {
        let range = F.range(total: 40 * 256 * F.kib, chunk: 256 * F.kib)
        var (receiver, _) = F.receiver(.fastText, range: range)
        var acked: [Int64] = []
        for index: Int64 in 0..<12 {
            acked += receiver.receive(chunk: F.chunk(index, of: range), now: 0).acks.map(\.chunkIndex)
        }
        #expect(acked == [3, 7, 11])
        #expect(receiver.statistics.acksSent == 3)
    }

    @Test func smallChunksAreAckedEveryFourChunks() {
        let range = F.range(total: 100 * 64 * F.kib, chunk: 64 * F.kib)
        var (receiver, _) = F.receiver(.fastText, range: range)
        var acked: [Int64] = []
        for index: Int64 in 0..<8 { acked += receiver.receive(chunk: F.chunk(index, of: range), now: 0).acks.map(\.chunkIndex) }
        #expect(acked == [3, 7])
    }

    @Test func oneMebibyteChunksAreAckedEachByTheByteThreshold() {
        let range = F.range(total: 8 * F.mib, chunk: F.mib)
        var (receiver, _) = F.receiver(.fastBinary, range: range)
        var acked: [Int64] = []
        for index: Int64 in 0..<3 { acked += receiver.receive(chunk: F.chunk(index, of: range), now: 0).acks.map(\.chunkIndex) }
        #expect(acked == [0, 1, 2])
    }

    @Test func aTickAcksWhatWaitedTheAckDelay() {
        let range = F.range(total: 40 * 256 * F.kib, chunk: 256 * F.kib)
        var (receiver, _) = F.receiver(.fastText, range: range)
        #expect(receiver.receive(chunk: F.chunk(0, of: range), now: 100).acks.isEmpty)
        _ = receiver.receive(chunk: F.chunk(1, of: range), now: 102)
        #expect(receiver.nextDeadline == 105)
        #expect(receiver.tick(now: 104).isEmpty)
        let acks = receiver.tick(now: 105).acks
        #expect(acks.map(\.chunkIndex) == [1])
        #expect(acks.first?.cumulative == true)
        #expect(acks.first?.receivedBytes == 512 * F.kib)
        #expect(receiver.nextDeadline == 60_102)
        #expect(receiver.tick(now: 200).isEmpty)
    }

    @Test func theMinimumIntervalHoldsAcksBack() {
        var configuration = ChunkReceiver.Configuration()
        configuration.minAckIntervalMs = 25
        let range = F.range(total: 8 * F.mib, chunk: F.mib)
        var (receiver, _) = F.receiver(.fastBinary, range: range, configuration: configuration)
        #expect(receiver.receive(chunk: F.chunk(0, of: range), now: 0).acks.map(\.chunkIndex) == [0])
        #expect(receiver.receive(chunk: F.chunk(1, of: range), now: 10).acks.isEmpty)
        #expect(receiver.receive(chunk: F.chunk(2, of: range), now: 20).acks.isEmpty)
        #expect(receiver.nextDeadline == 25)
        #expect(receiver.tick(now: 24).isEmpty)
        #expect(receiver.tick(now: 25).acks.map(\.chunkIndex) == [2])
    }

    @Test func theLastAckIgnoresTheMinimumInterval() {
        var configuration = ChunkReceiver.Configuration()
        configuration.minAckIntervalMs = 1_000
        let range = F.range(total: 2 * F.mib, chunk: F.mib)
        var (receiver, _) = F.receiver(.fastBinary, range: range, configuration: configuration)
        _ = receiver.receive(chunk: F.chunk(0, of: range), now: 0)
        let last = receiver.receive(chunk: F.chunk(1, of: range), now: 1)
        #expect(last.acks.map(\.chunkIndex) == [1])
        #expect(last.isComplete)
    }

    @Test func compatAcksEveryChunkWhateverTheInterval() {
        var configuration = ChunkReceiver.Configuration()
        configuration.minAckIntervalMs = 1_000
        let range = F.range(total: 10 * 64 * F.kib, chunk: 64 * F.kib)
        var (receiver, _) = F.receiver(.compat, range: range, configuration: configuration)
        for index: Int64 in 0..<3 {
            #expect(receiver.receive(chunk: F.chunk(index, of: range), now: index).acks.map(\.chunkIndex) == [index])
        }
    }
}
