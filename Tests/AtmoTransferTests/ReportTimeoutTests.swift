import NIOCore
import Testing

@testable import AtmoTransfer

/// `PullConfiguration.reportTimeoutSeconds`: one deadline for every transfer report when set,
/// each report's own otherwise; any number is taken without a trap (bounded, NaN not set).
struct ReportTimeoutTests {
    func timeout(_ seconds: Double?, otherwise standard: TimeAmount? = .seconds(2)) -> TimeAmount? {
        var configuration = PullConfiguration()
        configuration.reportTimeoutSeconds = seconds
        return configuration.reportTimeout(otherwise: standard)
    }

    @Test func setItGovernsEveryReportUnsetEachKeepsItsOwn() {
        #expect(timeout(nil) == .seconds(2))
        #expect(timeout(nil, otherwise: nil) == nil)
        #expect(timeout(60) == .seconds(60))
        #expect(timeout(60, otherwise: nil) == .seconds(60))
        #expect(timeout(0.25) == .milliseconds(250))
    }

    @Test func hostileNumbersAreBoundedNotATrap() {
        #expect(timeout(.nan) == .seconds(2))
        #expect(timeout(.infinity) == .seconds(3600))
        #expect(timeout(1e300) == .seconds(3600))
        #expect(timeout(-.infinity) == .milliseconds(1))
        #expect(timeout(-5) == .milliseconds(1))
        #expect(timeout(0) == .milliseconds(1))
    }
}
