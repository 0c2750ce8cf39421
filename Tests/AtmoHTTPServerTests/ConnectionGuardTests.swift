import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import AtmoHTTPServer

/// `ConnectionGuard` on an `EmbeddedChannel`: what the handlers after it see.
struct ConnectionGuardTests {
    /// Records the lifecycle events that reach it.
    final class EventRecorder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var events: [String] = []

        func channelActive(context: ChannelHandlerContext) {
            events.append("active")
            context.fireChannelActive()
        }

        func channelInactive(context: ChannelHandlerContext) {
            events.append("inactive")
            context.fireChannelInactive()
        }
    }

    @Test func aRefusedConnectionIsNeverActiveForTheHandlersAfterTheGuard() throws {
        let limiter = ConnectionLimiter(limitPerAddress: 1)
        #expect(limiter.opened(from: "127.0.0.1") == .admitted)
        let recorder = EventRecorder()
        let channel = EmbeddedChannel()
        channel.remoteAddress = try SocketAddress(ipAddress: "127.0.0.1", port: 4000)
        try channel.pipeline.syncOperations.addHandlers([
            ConnectionGuard(limiter: limiter, headTimeout: .seconds(30), logger: Logger(label: "test")), recorder,
        ])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 80)).wait()
        channel.embeddedEventLoop.run()
        #expect(!recorder.events.contains("active"), "\(recorder.events)")
        #expect(!channel.isActive)
        let answer = try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) }
        #expect(answer?.hasPrefix("HTTP/1.1 503") == true)
    }

    @Test func anAdmittedConnectionIsActiveForTheHandlersAfterTheGuard() throws {
        let limiter = ConnectionLimiter(limitPerAddress: 1)
        let recorder = EventRecorder()
        let channel = EmbeddedChannel()
        channel.remoteAddress = try SocketAddress(ipAddress: "127.0.0.1", port: 4000)
        try channel.pipeline.syncOperations.addHandlers([
            ConnectionGuard(limiter: limiter, headTimeout: .seconds(30), logger: Logger(label: "test")), recorder,
        ])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 80)).wait()
        #expect(recorder.events == ["active"])
        _ = try channel.finish()
        #expect(recorder.events == ["active", "inactive"])
        #expect(limiter.count(from: "127.0.0.1") == 0)
    }
}
