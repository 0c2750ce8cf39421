import AtmoProtocol
import Foundation
import Testing

@testable import AtmoTransfer

/// `ChunkSender` in `compat` mode: the older design's flow control, exactly.
struct ChunkedSenderCompatTests {
    typealias F = ChunkedFixtures
    static let chunk = F.kib * 64
    static let range = F.range(total: 20 * chunk - 5, chunk: chunk)

    @Test func startsWithTwoChunks() {
        let (sender, actions) = F.sender(.compat, range: Self.range)
        #expect(actions.sent == [0, 1])
        #expect(actions.resent.isEmpty)
        #expect(sender.inFlightChunkCount == 2)
        #expect(sender.nextDeadline == 30_000)
    }

    @Test func neverMoreThanTwoChunksInFlight() {
        var (sender, actions) = F.sender(.compat, range: Self.range)
        var inFlight = Set(actions.sent)
        var random = SplitMix(seed: 7)
        var now: Int64 = 0
        var finished = false
        while !finished {
            #expect(inFlight.count <= 2)
            #expect(sender.inFlightChunkCount == inFlight.count)
            now += Int64(random.next() % 50)
            // An older consumer acks the chunk it got, in any order (not cumulative).
            let chunk = inFlight.sorted()[Int(random.next() % UInt64(inFlight.count))]
            inFlight.remove(chunk)
            actions = sender.receive(ack: F.ack(chunk, cumulative: nil), now: now)
            inFlight.formUnion(actions.sent)
            finished = actions.isFinished
        }
        #expect(sender.state == .finished)
        #expect(sender.statistics.chunksSent == 20)
        #expect(sender.ackedBytes == Self.range.byteCount)
    }

    @Test func resendsAChunkAfterThirtySecondsWithoutAck() {
        var (sender, _) = F.sender(.compat, range: Self.range)
        #expect(sender.tick(now: 29_999).isEmpty)
        let actions = sender.tick(now: 30_000)
        #expect(actions.resent == [0, 1])
        #expect(actions.sent.isEmpty)
        #expect(sender.nextDeadline == 60_000)
        #expect(sender.statistics.chunksResent == 2)
    }

    @Test func resendsOnlyTheChunkWhoseTimerExpired() {
        var (sender, _) = F.sender(.compat, range: Self.range)
        let afterAck = sender.receive(ack: F.ack(1, cumulative: nil), now: 10_000)
        #expect(afterAck.sent == [2])
        #expect(sender.nextDeadline == 30_000)
        #expect(sender.tick(now: 30_000).resent == [0])
        #expect(sender.nextDeadline == 40_000)
        #expect(sender.tick(now: 40_000).resent == [2])
    }

    @Test func cancelsWithTimeoutAfterThreeResendsOfOneChunk() throws {
        var (sender, _) = F.sender(.compat, range: Self.range)
        for round in 1...3 {
            let actions = sender.tick(now: Int64(round) * 30_000)
            #expect(actions.resent == [0, 1], "round \(round)")
        }
        let actions = sender.tick(now: 120_000)
        let cancel = try #require(actions.cancel)
        #expect(cancel.reason == .timeout)
        #expect(cancel.cancelledBy == F.provider)
        #expect(cancel.message.contains("chunk 0") && cancel.message.contains("3 resends"))
        #expect(sender.state == .cancelled(.timeout, byPeer: false))
        #expect(sender.tick(now: 200_000).isEmpty)
        #expect(sender.nextDeadline == nil)
    }

    @Test func anAckForAChunkNeverSentIsAProtocolError() throws {
        var (sender, _) = F.sender(.compat, range: Self.range)
        let cancel = try #require(sender.receive(ack: F.ack(5), now: 1).cancel)
        #expect(cancel.reason == .protocolError)
        #expect(cancel.message.contains("chunk 5, which was never sent"))
    }

    @Test func anAckForAnotherRequestIsAProtocolError() throws {
        var (sender, _) = F.sender(.compat, range: Self.range)
        let cancel = try #require(sender.receive(ack: F.ack(0, id: "other"), now: 1).cancel)
        #expect(cancel.reason == .protocolError)
        #expect(cancel.message.contains("request other"))
    }

    @Test func staleAndDuplicateAcksChangeNothing() {
        var (sender, _) = F.sender(.compat, range: Self.range)
        #expect(sender.receive(ack: F.ack(0), now: 5).sent == [2])
        #expect(sender.receive(ack: F.ack(0), now: 6).isEmpty)
        #expect(sender.statistics.staleAcks == 1)
        #expect(sender.receive(ack: F.ack(2, cumulative: nil), now: 7).sent == [3])
        #expect(sender.receive(ack: F.ack(2, cumulative: nil), now: 8).isEmpty)
        #expect(sender.statistics.duplicateAcks == 1)
        #expect(sender.state == .sending)
    }

    @Test func theConsumersCancelEndsTheTransfer() {
        var (sender, _) = F.sender(.compat, range: Self.range)
        let theirs = ModelTransferCancel(
            requestID: F.requestID, modelID: F.modelID, reason: .storageFull, message: "disk full", cancelledBy: F.consumer)
        #expect(sender.receive(cancel: theirs) == [.peerCancelled(theirs)])
        #expect(sender.state == .cancelled(.storageFull, byPeer: true))
        #expect(sender.receive(ack: F.ack(0), now: 1).isEmpty)
        #expect(sender.cancel(reason: .userCancelled, message: "x").isEmpty)
    }

    @Test func aCancelForAnotherRequestIsIgnored() {
        var (sender, _) = F.sender(.compat, range: Self.range)
        let other = ModelTransferCancel(requestID: "other", modelID: F.modelID, reason: .timeout, message: "", cancelledBy: F.consumer)
        #expect(sender.receive(cancel: other).isEmpty)
        #expect(sender.state == .sending)
    }

    @Test func cancellingSendsTheReason() throws {
        var (sender, _) = F.sender(.compat, range: Self.range)
        let cancel = try #require(sender.cancel(reason: .userCancelled, message: "provider shutting down").cancel)
        #expect(cancel.reason == .userCancelled)
        #expect(cancel.requestID == F.requestID && cancel.modelID == F.modelID)
        #expect(sender.cancel(reason: .userCancelled, message: "again").isEmpty)
    }

    @Test func aOneByteFileIsOneChunk() {
        var (sender, actions) = F.sender(.compat, range: F.range(total: 1, chunk: Self.chunk))
        #expect(actions == [.send(ChunkSlice(index: 0, offset: 0, length: 1))])
        #expect(sender.receive(ack: F.ack(0, cumulative: nil), now: 3) == [.finished])
    }

    @Test func anEmptyRangeFinishesAtOnce() {
        var (sender, actions) = F.sender(.compat, range: F.range(total: 1_000, chunk: Self.chunk, start: 1_000))
        #expect(actions == [.finished])
        #expect(sender.nextDeadline == nil)
        #expect(sender.tick(now: 100_000).isEmpty)
    }

    @Test func theLastChunkIsShort() {
        var (sender, _) = F.sender(.compat, range: F.range(total: 2 * Self.chunk + 10, chunk: Self.chunk))
        let actions = sender.receive(ack: F.ack(0), now: 1)
        #expect(actions == [.send(ChunkSlice(index: 2, offset: 2 * Self.chunk, length: 10))])
    }

    @Test func pacingSpacesChunksOut() {
        var configuration = ChunkSender.Configuration()
        configuration.maxChunksPerSecond = 10
        configuration.chunkBurst = 1
        var (sender, actions) = F.sender(.compat, range: Self.range, configuration: configuration)
        #expect(actions.sent == [0])
        #expect(sender.nextDeadline == 100)
        #expect(sender.tick(now: 99).isEmpty)
        #expect(sender.tick(now: 100).sent == [1])
    }
}

/// A small deterministic generator for test schedules.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
