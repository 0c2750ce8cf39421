import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A loopback HTTP/1.1 server (port 0) that answers every request with what `answer`
/// returns for its method, target and headers, then closes the connection; it records
/// every request. The building block of `HubBehaviourReplay` (one instance plays the Hub's
/// host, another the CDN's).
final class ReplayHTTPServer: Sendable {
    struct Request: Sendable {
        var method: String
        /// The request target as sent (path and query, percent-encoded).
        var target: String
        /// Header names lowercased.
        var headers: [String: String]

        /// The path, percent-decoded, without the query.
        var path: String {
            let raw = String(target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            return raw.removingPercentEncoding ?? raw
        }

        /// The query's `name=value` pairs, percent-decoded.
        var query: [String: String] {
            guard let question = target.firstIndex(of: "?") else { return [:] }
            var pairs: [String: String] = [:]
            for pair in target[target.index(after: question)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                    String($0).removingPercentEncoding ?? String($0)
                }
                pairs[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            return pairs
        }
    }

    struct Reply: Sendable {
        var status: Int
        var headers: [(String, String)] = []
        var body: [UInt8] = []

        static func json(_ object: Any, status: Int = 200, headers: [(String, String)] = []) -> Reply {
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            return Reply(status: status, headers: [("Content-Type", "application/json; charset=utf-8")] + headers, body: [UInt8](data))
        }
    }

    let port: Int
    var baseURL: String { "http://127.0.0.1:\(port)" }
    private let channel: any Channel
    private final class Box<Value: Sendable>: Sendable {
        let value: Mutex<Value>
        init(_ value: Value) { self.value = Mutex(value) }
        func withLock<T>(_ body: (inout Value) -> T) -> T { value.withLock { body(&$0) } }
    }
    private let log: Box<[Request]>
    private let children: Box<[any Channel]>

    init(answer: @escaping @Sendable (Request) -> Reply) async throws {
        let log = Box<[Request]>([])
        let children = Box<[any Channel]>([])
        let recorded: @Sendable (Request) -> Reply = { request in
            log.withLock { $0.append(request) }
            return answer(request)
        }
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                children.withLock { $0.append(channel) }
                return channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Responder(answer: recorded)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
        self.log = log
        self.children = children
    }

    /// Every request so far, in order.
    var requests: [Request] { log.withLock { $0 } }

    func stop() async {
        for child in children.withLock({ $0 }) { try? await child.close() }
        try? await channel.close()
    }

    private final class Responder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let answer: @Sendable (Request) -> Reply
        private var head: [UInt8] = []
        private var answered = false

        init(answer: @escaping @Sendable (Request) -> Reply) { self.answer = answer }

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
            let request = Request(
                method: parts.first.map(String.init) ?? "", target: parts.count > 1 ? String(parts[1]) : "/", headers: headers)
            let reply = answer(request)
            var text = "HTTP/1.1 \(reply.status) Replayed\r\nContent-Length: \(reply.body.count)\r\nConnection: close\r\n"
            for (name, value) in reply.headers { text += "\(name): \(value)\r\n" }
            text += "\r\n"
            var buffer = context.channel.allocator.buffer(capacity: text.utf8.count + reply.body.count)
            buffer.writeString(text)
            if request.method != "HEAD" { buffer.writeBytes(reply.body) }
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
