import Testing

@testable import AtmoProtocol

/// The delay controller's faster rule (a 2-sample filter, growth that stops at half the
/// target and on the newest sample) and its answers to hostile samples, without I/O.
struct DelayControllerRuleTests {
    /// A controller fed 4 MB/s for 2 s, then a base of 20 ms for 400 ms.
    func controller(_ configuration: DelayController.Configuration = .init()) -> DelayController {
        var controller = DelayController(configuration: configuration)
        for step in 0...20 { controller.sent(400_000, nowMs: Int64(step) * 100) }
        for step in 0..<4 { controller.record(rttMs: 20, nowMs: 2_000 + Int64(step) * 100) }
        return controller
    }

    @Test func twoLateSamplesInARowAreAQueue() {
        var controller = controller()
        controller.record(rttMs: 200, nowMs: 2_400)
        #expect(controller.halvings == 0)  // one late sample is noise
        controller.record(rttMs: 200, nowMs: 2_500)
        #expect(controller.halvings == 1)
        #expect(controller.rate == 2_000_000)
        // The reference controller waited for four.
        var reference = self.controller(.reference)
        for step in 0..<3 { reference.record(rttMs: 200, nowMs: 2_400 + Int64(step) * 100) }
        #expect(reference.halvings == 0)
    }

    @Test func growthStopsAtHalfTheTargetAndOnOneLateSample() {
        var controller = controller()
        for step in 0..<2 { controller.record(rttMs: 300, nowMs: 2_400 + Int64(step) * 100) }
        var halved = controller.rate ?? 0
        #expect(halved == 2_000_000)
        // 60 ms of queue (above half the 100 ms target): no growth; the rate eases down
        // (by 25%/s × 10/50), without a halving.
        for step in 0..<10 { controller.record(rttMs: 80, nowMs: 3_000 + Int64(step) * 100) }
        let eased = controller.rate ?? 0
        #expect(eased < halved && eased > halved * 0.9)
        #expect(controller.halvings == 1)
        // Back at 60 ms above half the target... the reference controller grows there.
        var reference = self.controller(.reference)
        for step in 0..<4 { reference.record(rttMs: 300, nowMs: 2_400 + Int64(step) * 100) }
        for step in 0..<10 { reference.record(rttMs: 80, nowMs: 3_000 + Int64(step) * 100) }
        #expect((reference.rate ?? 0) > halved)
        halved = eased
        // Alternating base and late samples: the filter sees the base, the late ones stop growth.
        var now: Int64 = 4_000
        for _ in 0..<5 {
            now += 100
            controller.record(rttMs: 20, nowMs: now)
            now += 100
            controller.record(rttMs: 150, nowMs: now)
        }
        let afterAlternating = controller.rate ?? 0
        #expect(afterAlternating < halved * 1.2)  // growing on every sample: about 1.3
        // At the base it grows again.
        for _ in 0..<10 {
            now += 100
            controller.record(rttMs: 20, nowMs: now)
        }
        #expect((controller.rate ?? .infinity) > afterAlternating)
    }

    @Test func hostileSamplesAreIgnored() {
        var controller = controller()
        for rtt in [-5, .nan, .infinity, -.infinity, 1e300, 60_001, .greatestFiniteMagnitude] as [Double] {
            controller.record(rttMs: rtt, nowMs: 2_500)
            controller.record(rttMs: rtt, nowMs: 2_600)
        }
        #expect(controller.halvings == 0)
        #expect(controller.rate == nil)
        #expect(controller.baseDelayMs == 20)
        #expect(controller.queueDelayMs == 0)
        // Negative and huge byte counts do not make a throughput.
        controller.sent(-1_000_000, nowMs: 2_700)
        controller.sent(.max, nowMs: 2_800)
        controller.sent(.max, nowMs: 2_900)
        #expect(controller.bytesSent == .max)
    }

    @Test func aClockThatJumpsBackStillHalves() {
        var controller = controller()
        for step in 0..<2 { controller.record(rttMs: 300, nowMs: 2_400 + Int64(step) * 100) }
        #expect(controller.halvings == 1)
        // The clock goes back an hour; the queue is still there: the next halving comes after
        // the hold, measured from the new time, not an hour later.
        let back: Int64 = 2_500 - 3_600_000
        controller.record(rttMs: 300, nowMs: back)
        controller.record(rttMs: 300, nowMs: back + 100)
        #expect(controller.halvings == 2)
        #expect(controller.rate == 1_000_000)
        controller.record(rttMs: 300, nowMs: back + 200)
        #expect(controller.halvings == 2)  // within the hold
        controller.record(rttMs: 300, nowMs: back + 1_200)
        #expect(controller.halvings == 3)
        // A jump forward by a day grows by at most one second's worth.
        for _ in 0..<3 { controller.record(rttMs: 20, nowMs: back + 1_300) }
        let before = controller.rate ?? 0
        controller.record(rttMs: 20, nowMs: back + 86_400_000)
        #expect((controller.rate ?? .infinity) <= before * 1.26)
    }

    @Test func aClockThatJumpsBackKeepsMeasuringThroughput() {
        var controller = DelayController()
        controller.sent(100_000, nowMs: 10_000)
        controller.sent(100_000, nowMs: 0)  // back
        for step in 1...10 { controller.sent(100_000, nowMs: Int64(step) * 100) }
        #expect(controller.throughput == 1_000_000)
    }
}
