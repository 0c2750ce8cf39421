import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A loopback server (port 0) that answers every request head with `200`,
/// `Content-Length: 4000` and then one body byte every `interval`, never the whole body: a
/// peer that keeps a control request's answer alive for hours (hostile dec07e F7). Raw bytes,
/// since an HTTP server library will not answer so. Counts the request heads it read.
package final class TricklingAnswerServer: Sendable {
    package let interval: TimeAmount
    private let channel = Mutex<(any Channel)?>(nil)
    private let children = Mutex<[any Channel]>([])
    private let heads = Mutex(0)

    package init(interval: TimeAmount = .seconds(2)) {
        self.interval = interval
    }

    /// Request heads read so far.
    package var requestCount: Int { heads.withLock { $0 } }

    /// Starts listening on `127.0.0.1:{free port}`; returns the base URL.
    package func start() async throws -> String {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                self.children.withLock { $0.append(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Handler(server: self))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        channel.withLock { $0 = server }
        return "http://127.0.0.1:\(server.localAddress?.port ?? 0)"
    }

    /// Closes every connection it accepted, then the listening socket.
    package func stop() async {
        for child in children.withLock({ $0 }) { try? await child.close() }
        try? await channel.withLock { $0 }?.close()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let server: TricklingAnswerServer
        private var pending: [UInt8] = []
        private var answered = false

        init(server: TricklingAnswerServer) {
            self.server = server
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !answered else { return }
            pending.append(contentsOf: unwrapInboundIn(data).readableBytesView)
            guard pending.count <= 64 * 1024 else { return context.close(promise: nil) }
            // One answer per connection, once the head has arrived (a request body is not read).
            guard String(decoding: pending, as: UTF8.self).contains("\r\n\r\n") else { return }
            answered = true
            server.heads.withLock { $0 += 1 }
            var out = context.channel.allocator.buffer(capacity: 128)
            out.writeString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n")
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
            trickle(context: context)
        }

        /// One space every `interval` until the connection closes (4000 would take hours).
        private func trickle(context: ChannelHandlerContext) {
            context.eventLoop.assumeIsolated().scheduleTask(in: server.interval) {
                guard context.channel.isActive else { return }
                var byte = context.channel.allocator.buffer(capacity: 1)
                byte.writeString(" ")
                context.writeAndFlush(self.wrapOutboundOut(byte), promise: nil)
                self.trickle(context: context)
            }
        }
    }
}
