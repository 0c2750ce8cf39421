import Foundation
import NIOCore
import NIOPosix

/// A loopback HTTP/1.1 server (port 0) that reads one request head per connection (at most
/// 64 KiB, else it closes), writes the bytes `answer` returns for it, then closes the
/// connection, or keeps it open and silent (`hang`). The accept loop of `ReplayHTTPServer`
/// and `FakeHubUpstream`, which differ only in what they answer.
final class OneRequestHTTPServer: Sendable {
    /// The request head as read: `target` is nil when the request line has none.
    struct Head: Sendable {
        var method: String
        var target: String?
        /// Header names lowercased.
        var headers: [String: String]
    }

    /// The bytes to write; `later` is written `delay` after them (in `laterParts` pieces, each
    /// `delay` after the one before); then the connection closes unless `hang`.
    struct Answer: Sendable {
        var bytes: [UInt8]
        var hang = false
        var later: (delay: Duration, bytes: [UInt8])?
        var laterParts = 1
    }

    let port: Int
    var baseURL: String { "http://127.0.0.1:\(port)" }
    private let channel: any Channel
    private let children: ReplayShared<[any Channel]>

    init(answer: @escaping @Sendable (Head) -> Answer) async throws {
        let children = ReplayShared<[any Channel]>([])
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                children.update { $0.append(channel) }
                return channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Responder(answer: answer)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
        self.children = children
    }

    /// Closes every connection it accepted, then the listening socket.
    func stop() async {
        for child in children.get() { try? await child.close() }
        try? await channel.close()
    }

    private final class Responder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let answer: @Sendable (Head) -> Answer
        private var head: [UInt8] = []
        private var answered = false

        init(answer: @escaping @Sendable (Head) -> Answer) { self.answer = answer }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !answered else { return }
            head.append(contentsOf: unwrapInboundIn(data).readableBytesView)
            guard let end = head.firstRange(of: Array("\r\n\r\n".utf8)) else {
                if head.count >= 64 * 1024 { context.close(promise: nil) }
                return
            }
            answered = true
            let lines = String(decoding: head[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
            let parts = (lines.first ?? "").split(separator: " ")
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let reply = answer(
                Head(method: parts.first.map(String.init) ?? "", target: parts.count > 1 ? String(parts[1]) : nil, headers: headers))
            var buffer = context.channel.allocator.buffer(capacity: reply.bytes.count)
            buffer.writeBytes(reply.bytes)
            let (hang, later, channel) = (reply.hang, reply.later, context.channel)
            let finish: @Sendable () -> Void = { if !hang { channel.close(promise: nil) } }
            let laterBytes = later.map { Self.split($0.bytes, into: reply.laterParts) } ?? []
            context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in
                Self.write(laterBytes[...], every: later?.delay ?? .zero, on: channel, then: finish)
            }
        }

        private static func split(_ bytes: [UInt8], into count: Int) -> [[UInt8]] {
            let size = max(1, (bytes.count + max(1, count) - 1) / max(1, count))
            return stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min($0 + size, bytes.count)]) }
        }

        /// Writes each part `delay` after the one before, then calls `finish`.
        private static func write(
            _ parts: ArraySlice<[UInt8]>, every delay: Duration, on channel: any Channel, then finish: @escaping @Sendable () -> Void
        ) {
            guard let part = parts.first else { return finish() }
            channel.eventLoop.scheduleTask(
                in: .nanoseconds(Int64(delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000))
            ) {
                var buffer = channel.allocator.buffer(capacity: part.count)
                buffer.writeBytes(part)
                channel.writeAndFlush(buffer).whenComplete { _ in write(parts.dropFirst(), every: delay, on: channel, then: finish) }
            }
        }
    }
}
