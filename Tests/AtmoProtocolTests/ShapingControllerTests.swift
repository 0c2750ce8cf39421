import Testing

@testable import AtmoProtocol

/// `DelayController` (LEDBAT-like) and `ShapingState` (the buckets together), without I/O.
struct ShapingControllerTests {
    static let ms: Int64 = 1_000_000

    /// A controller fed `throughput` bytes per second, then RTT samples every 100 ms.
    func controller(throughput: Int64 = 4_000_000) -> DelayController {
        var controller = DelayController()
        for step in 0...20 { controller.sent(throughput / 10, nowMs: Int64(step) * 100) }
        return controller
    }

    @Test func holdsNothingBackWhileTheDelayStaysNearItsBase() {
        var controller = controller()
        for step in 0..<50 { controller.record(rttMs: 20 + Double(step % 5) * 10, nowMs: 2_000 + Int64(step) * 100) }
        #expect(controller.rate == nil)
        #expect(controller.baseDelayMs == 20)
        #expect(controller.halvings == 0)
    }

    @Test func halvesWhenTheDelayRisesMoreThan100msAboveTheBase() {
        var controller = controller()
        for step in 0..<4 { controller.record(rttMs: 20, nowMs: 2_000 + Int64(step) * 100) }
        // A queue builds: 90 ms above the base is not enough...
        for step in 4..<8 { controller.record(rttMs: 110, nowMs: 2_000 + Int64(step) * 100) }
        #expect(controller.rate == nil)
        // ...130 ms above it is: half the measured 4 MB/s.
        for step in 8..<12 { controller.record(rttMs: 150, nowMs: 2_000 + Int64(step) * 100) }
        #expect(controller.halvings == 1)
        #expect(controller.rate == 2_000_000)
        // Still high within the hold: no second halving yet; after it, half again.
        controller.record(rttMs: 150, nowMs: 3_500)
        #expect(controller.rate == 2_000_000)
        controller.record(rttMs: 150, nowMs: 4_200)
        #expect(controller.rate == 1_000_000)
        #expect(controller.queueDelayMs == 130)
    }

    @Test func growsBackGraduallyAndLetsGo() {
        var controller = controller()
        for step in 0..<4 { controller.record(rttMs: 20, nowMs: 2_000 + Int64(step) * 100) }
        for step in 4..<8 { controller.record(rttMs: 200, nowMs: 2_000 + Int64(step) * 100) }
        let halved = controller.rate ?? 0
        #expect(halved == 2_000_000)
        // The delay returns to the base: the rate grows, a little each second, not at once.
        var now: Int64 = 2_700
        var previous = halved
        for _ in 0..<3 {
            for _ in 0..<4 {
                now += 250
                controller.sent(Int64((controller.rate ?? 0) / 4), nowMs: now)
                controller.record(rttMs: 20, nowMs: now)
            }
            let rate = controller.rate ?? .infinity
            #expect(rate > previous)
            #expect(rate <= previous * 1.28)
            previous = rate
        }
        // The transfer sends what it is allowed, up to what the link carries (4 MB/s)...
        var released = false
        for second in 0..<30 {
            for _ in 0..<10 {
                now += 100
                controller.sent(Int64(min(controller.rate ?? 4e6, 4e6) / 10), nowMs: now)
                controller.record(rttMs: 20, nowMs: now)
            }
            if controller.rate == nil {
                released = second > 0
                break
            }
        }
        // ...and once the rate is far above that, the controller lets go.
        #expect(released)
    }

    @Test func baseDelayIsTheMinimumOverItsWindowAndForgetsOldRoutes() {
        var configuration = DelayController.Configuration()
        configuration.baseBuckets = 3
        configuration.baseBucketMs = 1_000
        var controller = DelayController(configuration: configuration)
        controller.record(rttMs: 5, nowMs: 0)
        controller.record(rttMs: 50, nowMs: 1_000)
        controller.record(rttMs: 60, nowMs: 2_000)
        #expect(controller.baseDelayMs == 5)
        controller.record(rttMs: 70, nowMs: 3_000)
        #expect(controller.baseDelayMs == 50)
    }

    @Test func stateWaitsForTheSlowestBucket() {
        var limits = BandwidthLimits()
        limits.up = ByteRate(bytesPerSecond: 10_000_000)
        limits.perPeer.up = ByteRate(bytesPerSecond: 1_000_000)
        limits.peers["fast"] = DirectionalRates(up: ByteRate(bytesPerSecond: 5_000_000))
        var state = ShapingState(limits: limits, now: 0)
        // Peer "a": its 1 MB/s bucket holds 100 kB; 1.1 MB wait 1 s.
        do {
            let result = state.reserve(1_100_000, direction: .up, peer: "a", modelSize: nil, background: false, now: 0)
            #expect(result == 1_000 * Self.ms)
        }
        // Peer "fast" has its own 5 MB/s, and the node-wide bucket already holds a's bytes.
        let fast = state.reserve(1_500_000, direction: .up, peer: "fast", modelSize: nil, background: false, now: 0)
        #expect(fast == 200 * Self.ms)  // node: 1 MB saved - 2.6 MB = 1.6 MB of debt at 10 MB/s: 160 ms; peer: 1 MB/5 MB/s = 200 ms
        // Downloads are not limited at all.
        do {
            let result = state.reserve(100_000_000, direction: .down, peer: "a", modelSize: nil, background: false, now: 0)
            #expect(result == 0)
        }
    }

    @Test func sizeClassesLimitEachTransferByItsModel() {
        var limits = BandwidthLimits()
        limits.sizeClassPolicy = .seed
        var state = ShapingState(limits: limits, now: 0)
        do {
            let result = state.reserve(5_000_000, direction: .down, peer: "p", modelSize: 5_000_000, background: false, now: 0)
            #expect(result == 0)
        }
        // 100 MB model: 5 Mbps = 625 kB/s; 62.5 kB saved; 687.5 kB wait 1 s.
        do {
            let result = state.reserve(687_500, direction: .down, peer: "p", modelSize: 100_000_000, background: false, now: 0)
            #expect(result == 1_000 * Self.ms)
        }
        // 1 GB model, another class: 2 Mbps = 250 kB/s.
        do {
            let result = state.reserve(275_000, direction: .down, peer: "p", modelSize: 1_000_000_000, background: false, now: 0)
            #expect(result == 1_000 * Self.ms)
        }
        state.setLimits(BandwidthLimits(), now: 0)
        do {
            let result = state.reserve(100_000_000, direction: .down, peer: "p", modelSize: 1_000_000_000, background: false, now: 0)
            #expect(result == 0)
        }
    }

    @Test func backgroundTransfersFollowTheirController() {
        var state = ShapingState(limits: BandwidthLimits(), now: 0)
        var now: Int64 = 0
        // A background upload at 4 MB/s with a base RTT of 10 ms...
        for _ in 0..<20 {
            do {
                let result = state.reserve(400_000, direction: .up, peer: "p", modelSize: nil, background: true, now: now)
                #expect(result == 0)
            }
            state.recordRoundTrip(10, peer: "p", direction: .up, now: now)
            now += 100 * Self.ms
        }
        // ...then the RTT rises 200 ms: the controller halves to 2 MB/s and writes wait.
        for _ in 0..<4 { state.recordRoundTrip(210, peer: "p", direction: .up, now: now) }
        #expect(state.controller(peer: "p", direction: .up)?.rate == 2_000_000)
        _ = state.reserve(200_000, direction: .up, peer: "p", modelSize: nil, background: true, now: now)
        do {
            let result = state.reserve(400_000, direction: .up, peer: "p", modelSize: nil, background: true, now: now)
            #expect(result == 200 * Self.ms)
        }
        // A foreground transfer to the same peer is not held back.
        do {
            let result = state.reserve(400_000, direction: .up, peer: "p", modelSize: nil, background: false, now: now)
            #expect(result == 0)
        }
        #expect(state.slowestRate(direction: .up, peer: "p", modelSize: nil, background: true) == 2_000_000)
    }

    @Test func hostilePeerNamesDoNotGrowTheState() {
        var limits = BandwidthLimits()
        limits.perPeer.down = ByteRate(bytesPerSecond: 1_000)
        var state = ShapingState(limits: limits, now: 0)
        for index in 0..<(ShapingState.maxKeys * 3) {
            _ = state.reserve(
                10, direction: .down, peer: "peer-\(index)", modelSize: nil, background: true, now: Int64(index) * 1_000 * Self.ms)
        }
        #expect(state.adaptiveRates.isEmpty)
        #expect(state.controllerCount <= ShapingState.maxKeys)
        #expect(state.peerBucketCount <= ShapingState.maxKeys)
    }
}
