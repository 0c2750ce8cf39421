/// The limits both servers (`atmo serve` and `atmo relay`) put on their HTTP connections
/// before and between requests, so that sockets sending nothing, or a request head a byte at
/// a time, cannot pile up (docs/PROTOCOL.md, "Connection limits").
public struct HTTPConnectionLimits: Sendable, Hashable {
    /// A connection must send its first complete request head within this long of being
    /// accepted; otherwise it is closed (with `408` if it sent part of one). A graceful
    /// shutdown closes the connections still waiting for their first head at once.
    public var requestHeadTimeout: Duration
    /// A connection with no request in progress after its first one (including one trickling
    /// its next request head) is closed after this long.
    public var idleTimeout: Duration
    /// Most connections one client address may hold open at once; one more is answered
    /// `503` and closed while the others are served.
    public var maxConnectionsPerAddress: Int

    /// Limits; the defaults are 30 s for the first request head, 75 s idle, 128 connections
    /// per address.
    public init(requestHeadTimeout: Duration = .seconds(30), idleTimeout: Duration = .seconds(75), maxConnectionsPerAddress: Int = 128) {
        self.requestHeadTimeout = requestHeadTimeout
        self.idleTimeout = idleTimeout
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
    }
}
