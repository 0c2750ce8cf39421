import NIOCore
import Testing

@testable import AtmoHTTPServer

/// The rule of `SendStallGuard`, without sockets: a connection stalls only while bytes wait
/// and the socket takes none of them for the limit.
struct SendProgressTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func at(_ milliseconds: Int64) -> NIODeadline { start + .milliseconds(milliseconds) }

    @Test func nothingWaitingIsNeverAStall() {
        var progress = SendProgress(limit: .seconds(1), now: Self.start)
        progress.handed(100)
        #expect(progress.check(now: Self.at(10), buffered: 0) == .idle)
        #expect(progress.check(now: Self.at(60_000), buffered: 0) == .idle)
    }

    @Test func bytesWaitingWithNoneTakenStallAfterTheLimit() {
        var progress = SendProgress(limit: .seconds(1), now: Self.start)
        progress.handed(1_000)
        #expect(progress.check(now: Self.at(0), buffered: 600) == .moving)
        #expect(progress.check(now: Self.at(500), buffered: 600) == .moving)
        #expect(progress.check(now: Self.at(999), buffered: 600) == .moving)
        #expect(progress.check(now: Self.at(1_000), buffered: 600) == .stalled)
    }

    @Test func everyByteTakenRestartsTheClock() {
        var progress = SendProgress(limit: .seconds(1), now: Self.start)
        progress.handed(1_000)
        #expect(progress.check(now: Self.at(0), buffered: 600) == .moving)
        #expect(progress.check(now: Self.at(900), buffered: 599) == .moving)
        // More handed and more waiting, but one more byte taken: still moving.
        progress.handed(500)
        #expect(progress.check(now: Self.at(1_800), buffered: 1_098) == .moving)
        #expect(progress.check(now: Self.at(2_700), buffered: 1_098) == .moving)
        #expect(progress.check(now: Self.at(2_800), buffered: 1_098) == .stalled)
    }

    @Test func moreWaitingWithNoneTakenIsNoProgress() {
        var progress = SendProgress(limit: .seconds(1), now: Self.start)
        progress.handed(100)
        #expect(progress.check(now: Self.at(0), buffered: 100) == .moving)
        progress.handed(100)
        #expect(progress.check(now: Self.at(600), buffered: 200) == .moving)
        progress.handed(100)
        #expect(progress.check(now: Self.at(1_200), buffered: 300) == .stalled)
    }

    @Test func theClockStartsWhenBytesBeginToWaitAgain() {
        var progress = SendProgress(limit: .seconds(1), now: Self.start)
        progress.handed(100)
        #expect(progress.check(now: Self.at(0), buffered: 100) == .moving)
        #expect(progress.check(now: Self.at(500), buffered: 0) == .idle)
        progress.handed(100)
        // An hour later bytes wait again: the time before does not count.
        #expect(progress.check(now: Self.at(3_600_000), buffered: 100) == .moving)
        #expect(progress.check(now: Self.at(3_600_900), buffered: 100) == .moving)
        #expect(progress.check(now: Self.at(3_601_000), buffered: 100) == .stalled)
    }

    /// The socket takes bytes only once a third of its buffer is free: meanwhile the
    /// client's acknowledgements are the progress.
    @Test func bytesAcknowledgedCountAsProgressToo() {
        var progress = SendProgress(limit: .seconds(1), now: Self.start)
        progress.handed(1_000)
        #expect(progress.check(now: Self.at(0), buffered: 600, acked: 100) == .moving)
        #expect(progress.check(now: Self.at(900), buffered: 600, acked: 200) == .moving)
        #expect(progress.check(now: Self.at(1_800), buffered: 600, acked: 300) == .moving)
        #expect(progress.check(now: Self.at(2_700), buffered: 600, acked: 300) == .moving)
        #expect(progress.check(now: Self.at(2_800), buffered: 600, acked: 300) == .stalled)
    }

    @Test func theCheckRunsFourTimesPerLimit() {
        #expect(SendProgress(limit: .seconds(60), now: Self.start).checkInterval == .seconds(15))
        #expect(SendProgress(limit: .milliseconds(1), now: Self.start).checkInterval == .milliseconds(10))
    }
}
