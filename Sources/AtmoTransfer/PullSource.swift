/// One provider a pull may fetch from. A request lists them best first; the pull uses the
/// first that offers the artefact and fails over to the next on a source failure.
public struct PullSource: Sendable, Hashable, CustomStringConvertible {
    /// The provider's node id when known (for the caller's peer bookkeeping; the pull only
    /// shows it).
    public var nodeID: String?
    /// The provider's base URL, e.g. `http://127.0.0.1:14750` (a trailing slash is dropped).
    public var baseURL: String

    public init(baseURL: String, nodeID: String? = nil) {
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        self.baseURL = url
        self.nodeID = nodeID
    }

    /// The URL, and the node id when known: `http://10.0.0.2:14750 (node 0a1b...)`.
    public var description: String {
        guard let nodeID else { return baseURL }
        return "\(baseURL) (node \(nodeID))"
    }
}

/// How one source did in a pull, for the caller's peer reliability bookkeeping.
///
/// Reported once per source the pull tried, in order. A source that answered without the
/// artefact (not offered, another version) reports `failure` with code `notOffered` or
/// `sourceChanged`; failures that are not the source's fault (cancelled, a full disk, a
/// local error) are not reported for it. Sources the pull never needed are not reported.
public enum SourceOutcome: Sendable {
    /// The pull completed from this source: `bytes` fetched from it in `seconds` (the time
    /// from asking it for the entry to the verified install).
    case success(bytes: Int64, seconds: Double)
    /// The source failed or could not provide the artefact; the pull moved on (or failed).
    case failure(TransferError)
}
