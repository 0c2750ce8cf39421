import Testing

@testable import AtmoTransfer

/// `WindowEstimator`: window ≈ 2 × max delivery rate × min RTT, bounded, with a drain to
/// re-measure the RTT.
struct WindowEstimatorTests {
    static let mib: Int64 = 1024 * 1024

    func estimator(chunk: Int64 = mib, max: Int64 = 16 * mib) -> WindowEstimator {
        WindowEstimator(configuration: .init(chunkBytes: chunk, maxWindowBytes: max))
    }

    /// A sample of `rate` bytes per ms over `rtt` ms, sent `rtt` ms before `now`.
    func sample(rate: Int64, rtt: Int64, now: Int64) -> WindowEstimator.Sample {
        .init(rttMs: rtt, deliveredBytes: rate * rtt, intervalMs: rtt, sentAtMs: now - rtt)
    }

    @Test func startsAtFourChunks() {
        let window = estimator()
        #expect(window.windowBytes == 4 * Self.mib)
        #expect(window.minRTTMs == nil && window.maxDeliveryRate == nil)
        #expect(window.resendTimeoutMs == 3_000)
    }

    @Test func isTwiceTheBandwidthDelayProduct() {
        var window = estimator()
        // 100 MB/s = 100,000 bytes per ms, 20 ms: BDP 2 MB, window 4 MB.
        window.record(sample(rate: 100_000, rtt: 20, now: 20), nowMs: 20)
        #expect(window.windowBytes == 4_000_000)
    }

    @Test func growsWithTheMeasuredRate() {
        var window = estimator()
        var previous: Int64 = 0
        for (step, rate) in [50_000, 100_000, 200_000, 300_000].enumerated() {
            let now = Int64(step + 1) * 20
            window.record(sample(rate: Int64(rate), rtt: 20, now: now), nowMs: now)
            #expect(window.windowBytes > previous)
            previous = window.windowBytes
        }
        #expect(window.windowBytes == 12_000_000)
    }

    @Test func usesTheMaxRateAndTheMinRTTOfRecentSamples() {
        var window = estimator()
        window.record(sample(rate: 200_000, rtt: 30, now: 30), nowMs: 30)
        window.record(sample(rate: 100_000, rtt: 20, now: 40), nowMs: 40)
        window.record(sample(rate: 150_000, rtt: 50, now: 50), nowMs: 50)
        #expect(window.maxDeliveryRate == 200_000)
        #expect(window.minRTTMs == 20)
        #expect(window.windowBytes == 8_000_000)
    }

    @Test func makesRoomForTheLargestAckBatch() {
        var window = estimator()
        // Acks every 25 ms, each covering 2.5 MB: a byte waits up to one batch for its ack.
        window.record(.init(rttMs: 20, deliveredBytes: 2_000_000, intervalMs: 20, sentAtMs: 0, ackedBytes: 2_500_000), nowMs: 20)
        #expect(window.maxAckBatchBytes == 2_500_000)
        #expect(window.windowBytes == 6_500_000)
        // The batch ages out of the filter like a rate sample.
        window.record(.init(rttMs: 20, deliveredBytes: 2_000_000, intervalMs: 20, sentAtMs: 280, ackedBytes: 1_000), nowMs: 300)
        #expect(window.maxAckBatchBytes == 1_000)
    }

    @Test func anOldMaximumRateExpires() {
        var window = estimator()
        window.record(sample(rate: 400_000, rtt: 20, now: 20), nowMs: 20)
        // 10 round trips of 20 ms, but at least 250 ms: the 400 kB/ms sample ages out.
        window.record(sample(rate: 100_000, rtt: 20, now: 200), nowMs: 200)
        #expect(window.maxDeliveryRate == 400_000)
        window.record(sample(rate: 100_000, rtt: 20, now: 300), nowMs: 300)
        #expect(window.maxDeliveryRate == 100_000)
    }

    @Test func staysWithinItsBounds() {
        var slow = estimator()
        slow.record(sample(rate: 10, rtt: 5, now: 5), nowMs: 5)
        #expect(slow.windowBytes == 2 * Self.mib)
        var fast = estimator()
        fast.record(sample(rate: 10_000_000, rtt: 500, now: 500), nowMs: 500)
        #expect(fast.windowBytes == 16 * Self.mib)
        var tiny = estimator(max: 1)
        tiny.record(sample(rate: 10_000_000, rtt: 500, now: 500), nowMs: 500)
        #expect(tiny.windowBytes == 2 * Self.mib)
    }

    @Test func drainsToRemeasureTheRTTAfterTenSeconds() {
        var window = estimator()
        window.record(sample(rate: 100_000, rtt: 20, now: 20), nowMs: 20)
        // A standing queue: every later sample is 40 ms.
        var now: Int64 = 20
        while now < 10_020 {
            now += 20
            window.record(sample(rate: 100_000, rtt: 40, now: now), nowMs: now)
        }
        #expect(window.minRTTMs == 20)
        now += 20
        window.record(sample(rate: 100_000, rtt: 40, now: now), nowMs: now)
        #expect(window.isDrainingForRTT)
        #expect(window.windowBytes == 2 * Self.mib)
        // Chunks sent before the drain do not end it...
        window.record(sample(rate: 100_000, rtt: 40, now: now + 10), nowMs: now + 10)
        #expect(window.isDrainingForRTT)
        // ...the first one sent after it does, with its RTT as the new minimum.
        window.record(.init(rttMs: 25, deliveredBytes: 2_500_000, intervalMs: 25, sentAtMs: now + 5), nowMs: now + 30)
        #expect(!window.isDrainingForRTT)
        #expect(window.minRTTMs == 25)
        #expect(window.windowBytes == 5_000_000)
    }

    @Test func theResendTimeoutFollowsTheSmoothedRTT() {
        var window = estimator()
        window.record(sample(rate: 1_000, rtt: 20, now: 20), nowMs: 20)
        #expect(window.resendTimeoutMs == 1_000)
        var slow = estimator()
        slow.record(sample(rate: 1_000, rtt: 800, now: 800), nowMs: 800)
        #expect(slow.resendTimeoutMs == 3_200)
        slow.record(sample(rate: 1_000, rtt: 1_600, now: 2_400), nowMs: 2_400)
        #expect(slow.smoothedRTTMs == 900)
        #expect(slow.resendTimeoutMs == 3_600)
        var stalled = estimator()
        stalled.record(sample(rate: 1_000, rtt: 100_000, now: 100_000), nowMs: 100_000)
        #expect(stalled.resendTimeoutMs == 60_000)
    }
}
