import AtmoNode
import AtmoProtocol
import Foundation
import NIOCore
import NIOPosix

/// A stand-in for the node an `atmo` command finds through `{state}/node.json`: a loopback
/// HTTP/1.1 server (port 0) that answers each request from a script, whole, with
/// `Connection: close`; for a command's view of a node that sends what a real one cannot be
/// made to at will (a newer node's states, a download held in the queue).
final class ScriptedLocalNode: Sendable {
    /// The answer to one request: status, content type and the whole body.
    struct Answer: Sendable {
        var status = 200
        var contentType = "application/json"
        var body: Data
        /// More header lines (`Location` of a redirect).
        var headers: [String: String] = [:]

        static func json<T: Encodable>(_ value: T, status: Int = 200) -> Answer {
            Answer(status: status, body: (try? WireCoding.encode(value)) ?? Data("{}".utf8))
        }

        /// `text/event-stream` with one `download` event per status, then the end of the stream.
        static func downloadEvents(_ statuses: [DownloadAPI.Status]) -> Answer {
            let text = statuses.map {
                "event: download\ndata: \(String(decoding: (try? WireCoding.encode($0)) ?? Data(), as: UTF8.self))\n\n"
            }
            return Answer(contentType: "text/event-stream", body: Data(text.joined().utf8))
        }
    }

    let nodeID: String
    let port: Int
    private let channel: any Channel

    /// Serves on `127.0.0.1:0` as `nodeID`, answering `GET /health` itself (unless the script
    /// does) and every other request with `script(method, path)` (nil: 404), and writes
    /// `node.json` into `stateDirectory`.
    init(
        stateDirectory: String, nodeID: String = "scripted-node-0001",
        script: @escaping @Sendable (_ method: String, _ path: String) -> Answer?
    ) async throws {
        self.nodeID = nodeID
        let health = Answer.json(
            HTTPAPI.Health(modelsAvailable: 0, httpPort: 0, nodeID: nodeID, nodeName: "scripted", activeTransfers: 0, modelsHashing: 0))
        let answer: @Sendable (String, String) -> Answer = { method, path in
            if path == HTTPAPI.healthPath { return script(method, path) ?? health }
            return script(method, path) ?? .json(HTTPAPI.ErrorBody(error: "not scripted", code: nil), status: 404)
        }
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Responder(answer: answer)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
        try LocalNodeFile(host: "127.0.0.1", port: port, nodeID: nodeID).write(stateDirectory: stateDirectory)
    }

    func stop() async {
        try? await channel.close()
    }

    /// Reads one request head, writes the scripted answer and closes.
    private final class Responder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let answer: @Sendable (String, String) -> Answer
        private var head: [UInt8] = []
        private var answered = false

        init(answer: @escaping @Sendable (String, String) -> Answer) { self.answer = answer }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !answered else { return }
            head.append(contentsOf: unwrapInboundIn(data).readableBytesView)
            guard let end = head.firstRange(of: Array("\r\n\r\n".utf8)), head.count < 64 * 1024 else {
                if head.count >= 64 * 1024 { context.close(promise: nil) }
                return
            }
            answered = true
            let requestLine = String(decoding: head[..<end.lowerBound], as: UTF8.self).split(separator: "\r\n").first ?? ""
            let parts = requestLine.split(separator: " ")
            let method = parts.count > 1 ? String(parts[0]) : ""
            let path = parts.count > 1 ? String(parts[1].split(separator: "?").first ?? "") : ""
            let reply = answer(method, path)
            var text = "HTTP/1.1 \(reply.status) \(reply.status == 200 ? "OK" : "Scripted")\r\n"
            for (name, value) in reply.headers { text += "\(name): \(value)\r\n" }
            text += "Content-Type: \(reply.contentType)\r\nContent-Length: \(reply.body.count)\r\nConnection: close\r\n\r\n"
            var buffer = context.channel.allocator.buffer(capacity: text.utf8.count + reply.body.count)
            buffer.writeString(text)
            buffer.writeBytes(reply.body)
            context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
        }
    }
}
