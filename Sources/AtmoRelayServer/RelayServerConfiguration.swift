import AtmoHTTPServer
import AtmoRelay
import Foundation

/// Everything `RelayServer` needs: where to listen, where to keep its state, and its limits.
/// The admission and routing limits are the pure state machine's (`relay`); the rest are
/// the server's own.
public struct RelayServerConfiguration: Sendable {
    /// The port of the older Python relay, kept as the default.
    public static let defaultPort = 8765
    /// The default budget of all send queues together: 256 MiB (eight full queues).
    public static let defaultMaxQueuedBytes = 256 << 20

    /// Address to listen on (`0.0.0.0`: every interface).
    public var host: String
    /// Port to listen on; 0 lets the system choose (the bound port is reported on listening).
    public var port: Int
    /// Folder of the relay's state; the registrations live in `relay.sqlite` there.
    public var stateDirectory: String
    /// Limits and timeouts of admission and routing (`RelayState`).
    public var relay: RelayConfiguration
    /// The bounds of each peer's send queue; a peer whose queue is full is dropped (1013).
    public var sendQueue: SendQueueLimits
    /// The most bytes all send queues may hold together; at this budget the slowest peers
    /// are dropped (1013) until a frame fits (`RelayQueueBudget`).
    public var maxQueuedBytes: Int
    /// How often idle peers and silent new connections are checked (`RelayState.tick`).
    public var tickInterval: Duration
    /// How long a peer the relay closes may take to answer the close (or to read what is
    /// queued before it) before its socket is closed outright.
    public var closeTimeout: Duration
    /// Time to the first request head, idle time and connections per client address
    /// (docs/PROTOCOL.md, "Connection limits").
    public var connections = HTTPConnectionLimits()
    /// Plain HTTP connections (`/health`, `/stats`) idle this long are closed
    /// (`connections.idleTimeout`).
    public var httpIdleTimeout: Duration {
        get { connections.idleTimeout }
        set { connections.idleTimeout = newValue }
    }

    /// The bounds of one peer's send queue: frames waiting for its socket.
    public struct SendQueueLimits: Sendable, Hashable {
        /// Most frames waiting.
        public var maxFrames: Int
        /// Most bytes waiting (a single frame larger than this still fits an empty queue).
        public var maxBytes: Int

        /// Limits; the defaults hold a burst of 1,024 messages or 32 MiB.
        public init(maxFrames: Int = 1024, maxBytes: Int = 32 << 20) {
            self.maxFrames = maxFrames
            self.maxBytes = maxBytes
        }
    }

    /// A configuration with the defaults of `atmo relay`.
    public init(
        host: String = "0.0.0.0", port: Int = RelayServerConfiguration.defaultPort, stateDirectory: String,
        relay: RelayConfiguration = RelayConfiguration(), sendQueue: SendQueueLimits = SendQueueLimits(),
        maxQueuedBytes: Int = RelayServerConfiguration.defaultMaxQueuedBytes,
        tickInterval: Duration = .seconds(5), closeTimeout: Duration = .seconds(10), httpIdleTimeout: Duration = .seconds(75)
    ) {
        self.host = host
        self.port = port
        self.stateDirectory = stateDirectory
        self.relay = relay
        self.sendQueue = sendQueue
        self.maxQueuedBytes = maxQueuedBytes
        self.tickInterval = tickInterval
        self.closeTimeout = closeTimeout
        self.httpIdleTimeout = httpIdleTimeout
    }

    /// `{stateDirectory}/relay.sqlite`.
    public var databasePath: String { (stateDirectory as NSString).appendingPathComponent("relay.sqlite") }

    /// The largest WebSocket message read at all: the larger of the text and binary limits.
    /// Anything above is closed with 1009 by the WebSocket layer before it is buffered whole.
    var maxMessageBytes: Int { max(relay.maxFrameBytes, relay.maxBinaryFrameBytes) }
}
