import AtmoProtocol

/// What a server lets a connection from an address's reserve ask for
/// (`HTTPConnectionLimits.reservedConnectionsPerAddress`): its short requests, never a
/// model's bytes, a Hub endpoint file or a WebSocket, so that a machine's own command line
/// reaches its node while bulk downloads from the same address hold every ordinary place.
public struct ReservedRequests: Sendable {
    /// Whether a request for this path (as sent, without its query) may use a reserve
    /// connection.
    let allows: @Sendable (String) -> Bool

    /// Requests whose path passes `allows` (given the path as sent, without its query).
    public init(allows: @escaping @Sendable (String) -> Bool) {
        self.allows = allows
    }

    /// `GET /health` only (the relay).
    public static let health = ReservedRequests { ControlAccess.routedPath($0) == HTTPAPI.healthPath }

    /// `GET /health` and the node's dashboard and control API (`ControlAccess.isControlPath`:
    /// downloads, storage, limits, follows, the node and event views...), which answer only
    /// this machine (or the dashboard's token) anyway: the node.
    public static let healthAndControl = ReservedRequests {
        ControlAccess.routedPath($0) == HTTPAPI.healthPath || ControlAccess.isControlPath($0)
    }

    /// Whether `uri` (a request target) may use a reserve connection.
    func allows(uri: String) -> Bool {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        return allows(path)
    }
}

/// How one connection was admitted, shared by its `ConnectionGuard` (which decides it) and
/// its `RequestHeadGate` (which holds every request head of a reserve connection to
/// `ReservedRequests`). Both run on the connection's event loop.
final class ConnectionAdmission {
    /// The connection holds one of its address's reserve places.
    var isReserved = false
    let reservedRequests: ReservedRequests

    init(reservedRequests: ReservedRequests) {
        self.reservedRequests = reservedRequests
    }

    /// The refusal of a request a reserve connection may not carry, if `uri` is one.
    func refusal(uri: String) -> RequestHeadError? {
        guard isReserved, !reservedRequests.allows(uri: uri) else { return nil }
        return RequestHeadError(
            status: 503, "Too many connections from this address", code: "too_many_connections", headers: ["Retry-After": "1"])
    }
}
