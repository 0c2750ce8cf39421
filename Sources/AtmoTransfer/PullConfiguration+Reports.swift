import NIOCore

extension PullConfiguration {
    /// Longest `reportTimeoutSeconds` taken (an hour): a report is best effort.
    static let maxReportTimeoutSeconds: Double = 3600

    /// The deadline of one transfer report: `reportTimeoutSeconds` when set (within 1 ms and
    /// an hour; not a number is not set), else `standard`, that report's own (nil: the peer
    /// client's control deadline).
    func reportTimeout(otherwise standard: TimeAmount?) -> TimeAmount? {
        guard let seconds = reportTimeoutSeconds, !seconds.isNaN else { return standard }
        let bounded = min(max(seconds, 0.001), Self.maxReportTimeoutSeconds)
        return .milliseconds(Int64(bounded * 1000))
    }
}
