import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoTransfer

/// HTTP pulls read range bodies no faster than the node's download limit.
@Suite(.serialized)
struct ShapedPullTests {
    @Test func aDownloadLimitHoldsForAnHTTPPull() async throws {
        let model = FakePeer.swarmModel()
        let seed = FakePeer.seed(model)
        let size = Double(model.1.count)
        let rate = size / 2
        var limits = BandwidthLimits()
        limits.down = ByteRate(bytesPerSecond: rate)
        let shaper = BandwidthShaper(limits: limits)
        try await withTemporaryDirectory { directory in
            let started = ContinuousClock.now
            let outcome = try await SwarmPullTests.pull(
                model.0, from: [seed], configuration: PullHarness.configuration().shaped(by: shaper), in: directory)
            let seconds = (ContinuousClock.now - started).seconds
            let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
            #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == model.1)
            // The file at half its size per second takes about 2 s (a burst of 0.1 s aside);
            // only the lower bound is checked: a busy machine may take longer.
            #expect(seconds >= 1.5, "pulled \(Int(size)) bytes in \(seconds) s under a limit of \(Int(rate)) bytes/s")
        }
    }
}
