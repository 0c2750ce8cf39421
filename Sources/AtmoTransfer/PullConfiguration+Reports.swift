import NIOCore

extension PullConfiguration {
    /// The deadline of one transfer report: `reportTimeoutSeconds` when set, else
    /// `standard`, that report's own (nil: the peer client's control deadline).
    func reportTimeout(otherwise standard: TimeAmount?) -> TimeAmount? {
        guard let seconds = reportTimeoutSeconds else { return standard }
        return .milliseconds(Int64(seconds * 1000))
    }
}
