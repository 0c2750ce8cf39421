import AtmoTransfer
import Testing

struct ThroughputFloorTests {
    @Test func holdsWithinTheFirstWindowWhateverTheRate() {
        var floor = ThroughputFloor(minimumBytesPerSecond: 1000, windowSeconds: 10, start: 0)
        #expect(floor.shortfall(received: 1, now: 9.9) == nil)
    }

    @Test func aWindowBelowTheFloorReportsItsRate() {
        var floor = ThroughputFloor(minimumBytesPerSecond: 1000, windowSeconds: 10, start: 0)
        #expect(floor.shortfall(received: 5000, now: 10) == 500)
    }

    @Test func eachWindowIsJudgedOnItsOwnBytes() {
        var floor = ThroughputFloor(minimumBytesPerSecond: 1000, windowSeconds: 10, start: 0)
        // A fast first window does not pay for a trickling second one.
        #expect(floor.shortfall(received: 1_000_000, now: 10) == nil)
        #expect(floor.shortfall(received: 1_000_500, now: 15) == nil)
        #expect(floor.shortfall(received: 1_001_000, now: 20) == 100)
    }

    @Test func aLateChunkIsJudgedOverTheWholeGap() {
        var floor = ThroughputFloor(minimumBytesPerSecond: 1000, windowSeconds: 10, start: 0)
        // 25 s since the window began: 30,000 bytes is 1,200 bytes/s, above the floor.
        #expect(floor.shortfall(received: 30_000, now: 25) == nil)
        #expect(floor.shortfall(received: 31_000, now: 35) == 100)
    }
}
