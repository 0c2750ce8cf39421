import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import AtmoHTTPServer

/// `ConnectionGuard` and a graceful shutdown (`ChannelShouldQuiesceEvent`) on an
/// `EmbeddedChannel`, whatever the order of the shutdown and the connection's activation.
struct ConnectionGuardQuiesceTests {
    func guardedChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        channel.remoteAddress = try SocketAddress(ipAddress: "127.0.0.1", port: 4000)
        try channel.pipeline.syncOperations.addHandler(
            ConnectionGuard(limiter: ConnectionLimiter(limitPerAddress: 4), headTimeout: .seconds(600), logger: Logger(label: "test")))
        return channel
    }

    @Test func aShutdownClosesAConnectionWaitingForItsFirstHead() throws {
        let channel = try guardedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 80)).wait()
        try channel.writeInbound(ByteBuffer(string: "GET /health HTTP/1.1\r\nHost: x\r\n"))
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
    }

    /// The server collects a connection when it accepts it, before the connection is
    /// registered and active: a shutdown in between (a loaded machine, the connection's
    /// event loop late) told the guard while it had nothing to close, and the connection
    /// then waited for the head timeout (the relay's shutdown test saw its 15 s cut).
    @Test func aShutdownBeforeTheConnectionIsActiveClosesItOnceActive() throws {
        let channel = try guardedChannel()
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 80)).wait()
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive, "closed at once, not after the 600 s head timeout")
    }
}
