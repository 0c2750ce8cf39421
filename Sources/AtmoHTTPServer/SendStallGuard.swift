import Logging
import NIOCore

/// The handler nearest the socket on every connection of both servers: it closes a
/// connection whose socket takes no byte for `HTTPConnectionLimits.sendStallTimeout` while
/// bytes wait to be sent (`SendProgress`), so a client that stops reading in the middle of a
/// response (a model file, a Hub endpoint body, an event stream, a WebSocket's frames)
/// holds its connection, its place in the address's budget and whatever the response had
/// open (a file) for that long at most.
///
/// Hummingbird's idle handler does not cover this: it never times out a connection whose
/// response is still being written, and a response body written with backpressure (the
/// writer waits for the channel to turn writable again) waits forever for a client that
/// does not read. Closing the channel ends that wait with an error, so the route's body
/// ends and releases what it holds.
///
/// The check runs only while bytes wait in the channel (armed by a write, every quarter of
/// the limit, stopped once the channel's buffer is empty), so an idle connection costs
/// nothing. A client that reads slowly but steadily is never cut: every byte the socket
/// takes, and on Linux every byte the client acknowledges (`TCP_INFO`), restarts the clock. What the kernel's send buffer and the client's receive buffer
/// absorb is not waiting in the channel: a stream that writes a few bytes now and then
/// (an event stream's keep-alive) is seen stalled only once those buffers are full.
final class SendStallGuard: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private var progress: SendProgress
    private var check: Scheduled<Void>?
    private let logger: Logger

    init(limit: TimeAmount, logger: Logger) {
        progress = SendProgress(limit: limit, now: .now())
        self.logger = logger
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        progress.handed(unwrapOutboundIn(data).readableBytes)
        context.write(data, promise: promise)
        guard check == nil else { return }
        // The first bytes since the buffer was empty: start the clock now, not at the next check.
        _ = progress.check(now: .now(), buffered: Self.buffered(context.channel), acked: Self.acked(context.channel))
        schedule(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .all {
            check?.cancel()
            check = nil
        }
        context.close(mode: mode, promise: promise)
    }

    private func schedule(context: ChannelHandlerContext) {
        check = context.eventLoop.assumeIsolated().scheduleTask(in: progress.checkInterval) { [self] in
            check = nil
            guard context.channel.isActive else { return }
            let verdict = progress.check(
                now: .now(), buffered: Self.buffered(context.channel), acked: Self.acked(context.channel))
            switch verdict {
            case .idle:
                return
            case .moving:
                schedule(context: context)
            case .stalled:
                logger.debug(
                    "closed a connection whose client took no byte in time",
                    metadata: [
                        "timeout": "\(progress.limit)", "address": "\(context.channel.remoteAddress?.ipAddress ?? "?")",
                    ])
                context.close(promise: nil)
            }
        }
    }

    /// Bytes written to `channel` that its socket has not taken yet (0 when it cannot say:
    /// a closed channel, or one that does not know).
    private static func buffered(_ channel: any Channel) -> Int {
        (try? channel.syncOptions?.getOption(ChannelOptions.bufferedWritableBytes)) ?? 0
    }

    /// Bytes the client has acknowledged on `channel`'s socket (Linux's `tcpi_bytes_acked`,
    /// kernel 4.1 and later); nil when it cannot say. Called on the channel's loop, where
    /// NIO reads the option at once.
    private static func acked(_ channel: any Channel) -> Int64? {
        #if os(Linux)
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        var acked: Int64?
        let info: EventLoopFuture<TCPInfoPrefix> = provider.unsafeGetSocketOption(level: .tcp, name: .tcp_info)
        info.assumeIsolated().whenSuccess { acked = $0.bytesAcked }
        return acked
        #else
        return nil
        #endif
    }
}

/// The first 128 bytes of Linux's `struct tcp_info` (`linux/tcp.h`), as eight-byte words:
/// Glibc's `tcp_info` stops before `tcpi_bytes_acked`, at byte 120. A kernel with a shorter
/// struct leaves the rest zero.
struct TCPInfoPrefix: Sendable {
    var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    /// `tcpi_bytes_acked` (stays 0 where the kernel does not fill it in).
    var bytesAcked: Int64 { Int64(truncatingIfNeeded: words.15) }
}
