/// One provider a pull may fetch from. A request lists them best first; the pull uses the
/// first that offers the artefact and fails over to the next on a source failure.
public struct PullSource: Sendable, Hashable, CustomStringConvertible {
    /// How the pull reaches a source.
    public enum Route: String, Sendable, Hashable {
        /// Range requests to its HTTP API at `baseURL`.
        case http
        /// Chunked transfers over the provider's own WebSocket endpoint (`baseURL`, `ws://`).
        case websocket
        /// Chunked transfers through a relay both nodes are connected to (`nodeID` names it).
        case relay
    }

    /// The provider's node id when known (for the caller's peer bookkeeping; the pull only
    /// shows it). Always set for a relayed source.
    public var nodeID: String?
    /// The provider's base URL, e.g. `http://127.0.0.1:14750` (a trailing slash is dropped);
    /// `relay://{node_id}` for a relayed source.
    public var baseURL: String
    /// How the pull reaches it.
    public var route: Route
    /// Whether the provider is still pulling the file itself (a partial holder): it serves
    /// the pieces it holds and answers `not_held` for the others. Not part of the source's
    /// identity (`==`, `hash`), which is its route.
    public var partial: Bool = false

    public init(baseURL: String, nodeID: String? = nil) {
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        self.baseURL = url
        self.nodeID = nodeID
        route = .http
    }

    /// The node `nodeID` at its WebSocket endpoint `url` (`ws://HOST:PORT/v1/transfers/ws`).
    public init(webSocketURL url: String, nodeID: String) {
        baseURL = url
        self.nodeID = nodeID
        route = .websocket
    }

    /// The node `nodeID`, reached through a relay.
    public init(relayedNodeID nodeID: String) {
        baseURL = "relay://" + nodeID
        self.nodeID = nodeID
        route = .relay
    }

    public static func == (lhs: PullSource, rhs: PullSource) -> Bool {
        lhs.nodeID == rhs.nodeID && lhs.baseURL == rhs.baseURL && lhs.route == rhs.route
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(nodeID)
        hasher.combine(baseURL)
        hasher.combine(route)
    }

    /// The URL, and the node id when known: `http://10.0.0.2:14750 (node 0a1b...)`, or
    /// `node 0a1b... through a relay`.
    public var description: String {
        if route == .relay { return "node \(nodeID ?? "?") through a relay" }
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
