import Testing

@testable import AtmoTransfer

/// The rules of a range answer's body, whichever path reads it.
struct RangeBodyPaceTests {
    @Test func moreBytesThanTheRangeAreRefused() {
        var pace = RangeBodyPace(peer: "p", rangeLength: 100, floor: nil)
        #expect(pace.admits(100) == nil)
        #expect(pace.took(60, now: 0) == nil)
        #expect(pace.admits(41)?.code == .protocolViolation)
        #expect(pace.admits(40) == nil)
    }

    @Test func partsCutTooFineAreRefusedAfterTheFirst256() {
        var pace = RangeBodyPace(peer: "p", rangeLength: 1 << 30, floor: nil)
        for _ in 0..<256 {
            #expect(pace.admits(16) == nil)
            _ = pace.took(16, now: 0)
        }
        #expect(pace.admits(16)?.code == .protocolViolation)
        // Parts that bring the average up are fine.
        #expect(pace.admits(300_000) == nil)
    }

    @Test func thePartThatCompletesTheRangeIsNeverHeldAgainstIt() {
        var pace = RangeBodyPace(peer: "p", rangeLength: 257 * 16, floor: nil)
        for _ in 0..<256 { _ = pace.took(16, now: 0) }
        #expect(pace.admits(16) == nil)
    }

    @Test func aRateUnderTheFloorOverAWindowIsATimeout() {
        var pace = RangeBodyPace(peer: "p", rangeLength: 1 << 20, floor: (bytesPerSecond: 1000, windowSeconds: 10))
        #expect(pace.took(5000, now: 5) == nil)
        #expect(pace.took(100, now: 11)?.code == .timeout)
    }

    @Test func aRateAboveTheFloorHolds() {
        var pace = RangeBodyPace(peer: "p", rangeLength: 1 << 20, floor: (bytesPerSecond: 1000, windowSeconds: 10))
        #expect(pace.took(20_000, now: 11) == nil)
        #expect(pace.took(20_000, now: 22) == nil)
    }
}
