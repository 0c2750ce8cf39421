import NIOCore
import NIOPosix
import Synchronization

/// What a raw test server does with its connections: it hears of each one accepted, and gets
/// each complete request head a connection sends (bodies are not read), in order, on that
/// connection's event loop, to answer with whatever bytes it likes.
protocol RawHeadAnswering: AnyObject, Sendable {
    /// A connection was accepted, before any of its bytes are read.
    func accepted()
    /// Answers `head` (without its final blank line) by writing to `context`.
    func reply(to head: String, context: ChannelHandlerContext)
}

extension RawHeadAnswering {
    func accepted() {}
}

/// The listening part of the raw test servers (`RawRangeServer`, `HostileBodyServer`): a socket
/// on `127.0.0.1:{free port}` whose connections hand their request heads to a `RawHeadAnswering`.
final class RawHeadListener: Sendable {
    private let channel = Mutex<(any Channel)?>(nil)

    /// Starts listening; returns the base URL.
    func start(answering answerer: any RawHeadAnswering) async throws -> String {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                answerer.accepted()
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HeadHandler(answerer: answerer))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        channel.withLock { $0 = server }
        return "http://127.0.0.1:\(server.localAddress?.port ?? 0)"
    }

    /// Closes the listening socket (accepted connections stay as their answers leave them).
    func stop() async {
        try? await channel.withLock { $0 }?.close()
    }

    /// Splits request heads off a connection's bytes and passes each on.
    private final class HeadHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let answerer: any RawHeadAnswering
        private var heads = RangeRequestHeads()

        init(answerer: any RawHeadAnswering) {
            self.answerer = answerer
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            for head in heads.take(&buffer) { answerer.reply(to: head, context: context) }
        }
    }
}
