/// The limits both servers (`atmo serve` and `atmo relay`) put on their HTTP connections
/// before, between and during requests, so that sockets sending nothing, a request head a
/// byte at a time, or clients that stop reading cannot pile up (docs/PROTOCOL.md,
/// "Connection limits").
public struct HTTPConnectionLimits: Sendable, Hashable {
    /// A connection must send its first complete request head within this long of being
    /// accepted; otherwise it is closed (with `408` if it sent part of one). A graceful
    /// shutdown closes the connections still waiting for their first head at once.
    public var requestHeadTimeout: Duration
    /// A connection with no request in progress after its first one (including one trickling
    /// its next request head) is closed after this long.
    public var idleTimeout: Duration
    /// A connection whose socket takes no byte for this long while bytes of a response (or
    /// WebSocket frames) wait to be sent is closed (`SendStallGuard`): a client that stops
    /// reading mid-body gives back its connection and the file it was sent.
    public var sendStallTimeout: Duration
    /// Most connections one client address may hold open at once for any request; more are
    /// admitted into the address's reserve, and one more is answered `503` and closed while
    /// the others are served.
    public var maxConnectionsPerAddress: Int
    /// Connections one client address may open past `maxConnectionsPerAddress`, each only for
    /// the server's short requests (the node: `/health` and its control API; the relay:
    /// `/health`), so that bulk downloads holding every ordinary place of an address (the
    /// loopback address a machine's clients share) do not lock out the local command line.
    /// Any other request on a reserve connection is answered `503` and the connection closed.
    public var reservedConnectionsPerAddress: Int

    /// Limits; the defaults are 30 s for the first request head, 75 s idle, 60 s for a
    /// stalled send, 128 connections per address plus a reserve of 8.
    public init(
        requestHeadTimeout: Duration = .seconds(30), idleTimeout: Duration = .seconds(75), sendStallTimeout: Duration = .seconds(60),
        maxConnectionsPerAddress: Int = 128, reservedConnectionsPerAddress: Int = 8
    ) {
        self.requestHeadTimeout = requestHeadTimeout
        self.idleTimeout = idleTimeout
        self.sendStallTimeout = sendStallTimeout
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.reservedConnectionsPerAddress = reservedConnectionsPerAddress
    }
}
