import AtmoProtocol
import Foundation
import Testing

@testable import AtmoTransfer

/// The node's runtime shaper: waits as its buckets require (lower bounds only), limits
/// changed at runtime, background rates from round trips.
struct BandwidthShaperTests {
    static func limits(up: Double? = nil, down: Double? = nil) -> BandwidthLimits {
        var limits = BandwidthLimits()
        limits.up = ByteRate(bytesPerSecond: up)
        limits.down = ByteRate(bytesPerSecond: down)
        return limits
    }

    @Test func unlimitedWritesNeverWait() async throws {
        let shaper = BandwidthShaper()
        for _ in 0..<1_000 {
            #expect(shaper.reserve(4 << 20, direction: .up, peer: "p", modelSize: nil, background: false) == .zero)
        }
        #expect(shaper.writeSize(preferred: 512 * 1024, direction: .up, peer: "p", modelSize: nil, background: false) == 512 * 1024)
    }

    @Test func admitWaitsForTheLimit() async throws {
        // 1 MB/s, 100 kB saved: 400 kB more than the savings wait at least 0.3 s in all.
        let shaper = BandwidthShaper(limits: Self.limits(down: 1_000_000))
        let clock = ContinuousClock()
        let started = clock.now
        for _ in 0..<4 { try await shaper.admit(100_000, direction: .down, peer: "p", modelSize: nil, background: false) }
        #expect(clock.now - started >= .milliseconds(290))
        // Uploads are not limited.
        #expect(shaper.reserve(10_000_000, direction: .up, peer: "p", modelSize: nil, background: false) == .zero)
    }

    @Test func limitsChangeAtRuntime() {
        let shaper = BandwidthShaper()
        #expect(shaper.reserve(1_000_000, direction: .up, peer: "p", modelSize: nil, background: false) == .zero)
        shaper.setLimits(Self.limits(up: 1_000_000))
        #expect(shaper.limits.up.bytesPerSecond == 1_000_000)
        #expect(shaper.reserve(1_000_000, direction: .up, peer: "p", modelSize: nil, background: false) >= .milliseconds(800))
        #expect(shaper.writeSize(preferred: 512 * 1024, direction: .up, peer: "p", modelSize: nil, background: false) == 250_000)
        shaper.setLimits(BandwidthLimits())
        #expect(shaper.reserve(100_000_000, direction: .up, peer: "p", modelSize: nil, background: false) == .zero)
    }

    @Test func aRisingRoundTripHoldsBackgroundTransfersOnly() async throws {
        let shaper = BandwidthShaper()
        // A background download moving 4 MB/s for a little over a second, base RTT 5 ms...
        let clock = ContinuousClock()
        let started = clock.now
        while clock.now - started < .milliseconds(1_100) {
            _ = shaper.reserve(40_000, direction: .down, peer: "p", modelSize: nil, background: true)
            shaper.recordRoundTrip(.milliseconds(5), peer: "p", direction: .down)
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(shaper.status.adaptive.isEmpty)
        // ...then its round trips rise by 300 ms: it is held to half of what it moved.
        for _ in 0..<4 { shaper.recordRoundTrip(.milliseconds(305), peer: "p", direction: .down) }
        let held = try #require(shaper.status.adaptive.first)
        #expect(held.peer == "p" && held.direction == .down)
        #expect((held.rate.bytesPerSecond ?? 0) < 4_000_000)
        _ = shaper.reserve(1_000_000, direction: .down, peer: "p", modelSize: nil, background: true)
        #expect(shaper.reserve(1_000_000, direction: .down, peer: "p", modelSize: nil, background: true) > .zero)
        #expect(shaper.reserve(1_000_000, direction: .down, peer: "p", modelSize: nil, background: false) == .zero)
    }

    @Test func aRangeTimerRecordsItsRoundTrip() async throws {
        let shaper = BandwidthShaper()
        let timer = try await shaper.admitRange(1_000, peer: "p", modelSize: 1_000, background: true)
        try await Task.sleep(for: .milliseconds(20))
        timer.firstByte()
        let base = try #require(shaper.controller(peer: "p", direction: .down)?.baseDelayMs)
        #expect(base >= 20)
        #expect(shaper.status.adaptive.isEmpty)  // one sample is a base, not a queue
    }
}
