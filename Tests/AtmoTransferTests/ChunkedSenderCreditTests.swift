import AtmoProtocol
import Foundation
import Testing

@testable import AtmoTransfer

/// `ChunkSender` with `needsCredit`: the node's shaper paces it from outside, chunk by
/// chunk, and a chunk's clock starts when it really goes.
struct ChunkedSenderCreditTests {
    typealias F = ChunkedFixtures
    static let range = F.range(total: 100 * F.mib, chunk: F.mib)

    static var gated: ChunkSender.Configuration {
        var configuration = ChunkSender.Configuration()
        configuration.needsCredit = true
        return configuration
    }

    @Test func sendsNothingWithoutCreditAndAsksForTheNextChunk() {
        let (sender, actions) = F.sender(.fastBinary, range: Self.range, configuration: Self.gated)
        #expect(actions.sent.isEmpty)
        #expect(sender.creditWanted == F.mib)
        #expect(sender.bytesInFlight == 0)
    }

    @Test func eachGrantLetsItsBytesGoWithinTheWindow() {
        var (sender, _) = F.sender(.fastBinary, range: Self.range, configuration: Self.gated)
        #expect(sender.grant(F.mib, now: 100).sent == [0])
        #expect(sender.creditWanted == F.mib)
        // Two and a half chunks of credit: two chunks, the half waits for more.
        #expect(sender.grant(5 * F.mib / 2, now: 200).sent == [1, 2])
        #expect(sender.creditWanted == F.mib / 2)
        #expect(sender.grant(F.mib / 2, now: 300).sent == [3])
        // The window (4 chunks) is full: credit is not what holds it back.
        #expect(sender.creditWanted == nil)
        #expect(sender.grant(10 * F.mib, now: 300).sent.isEmpty)
    }

    @Test func theRoundTripCountsFromTheRealSend() {
        var (sender, _) = F.sender(.fastBinary, range: Self.range, configuration: Self.gated, now: 0)
        // The shaper held the first chunk back for 900 ms; its ack comes 20 ms after it left.
        _ = sender.grant(F.mib, now: 900)
        _ = sender.receive(ack: F.ack(0), now: 920)
        #expect(sender.latestRoundTripMs == 20)
        #expect(sender.roundTripSamples == 1)
        #expect(sender.estimator.minRTTMs == 20)
        // The resend timer also runs from the real send: nothing is due at 3.5 s after start.
        _ = sender.grant(F.mib, now: 3_000)
        #expect(sender.tick(now: 3_500).isEmpty)
    }

    @Test func withoutCreditTheSenderIsUnchanged() {
        let (sender, actions) = F.sender(.fastBinary, range: Self.range)
        #expect(actions.sent == [0, 1, 2, 3])
        #expect(sender.creditWanted == nil)
    }

    @Test func compatResendsNeedCreditToo() {
        var (sender, _) = F.sender(.compat, range: F.range(total: 10 * F.mib, chunk: 64 * F.kib), configuration: Self.gated)
        #expect(sender.grant(128 * F.kib, now: 0).sent == [0, 1])
        // 30 s without an ack: the resend of chunk 0 waits for credit.
        #expect(sender.tick(now: 30_000).isEmpty)
        #expect(sender.creditWanted == 64 * F.kib)
    }
}
