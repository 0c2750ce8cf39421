import AtmoProtocol
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers a request the HTTP parser rejects (raw control characters or NUL in the
/// request line, broken headers) or `RequestHeadGate` refuses (no `Host`, an invalid
/// WebSocket key...) with its JSON error (`400 {"error": ...}` for the parser) and closes
/// the connection, so even those get the JSON error body every other answer of these
/// servers has. Hummingbird alone would send an empty 400.
///
/// The answer goes out after the responses to the requests before it on the connection
/// (pipelined requests are answered in order). A parser error inside a request's body (a
/// malformed chunk) is not a new request: it reaches the route reading that body as
/// `HTTPError(.badRequest)`, so it is the client's 400, not a 500.
final class MalformedRequestResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var requestsRead = 0
    private var requestsEnded = 0
    private var responsesEnded = 0
    private var answered = false
    /// An answer waiting for the responses to the requests before it.
    private var pending: ErrorAnswer?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: requestsRead += 1
        case .end: requestsEnded += 1
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        responsesEnded += 1
        context.write(data, promise: promise)
        if let answer = pending, responsesEnded == requestsRead {
            pending = nil
            write(answer, context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let answer = ErrorAnswer(error), !answered else {
            context.fireErrorCaught(error)
            return
        }
        if requestsEnded < requestsRead, error is HTTPParserError {
            context.fireErrorCaught(HTTPError(.badRequest, headers: [.connection: "close"], message: "Malformed HTTP request body"))
            return
        }
        answered = true
        if requestsRead == responsesEnded {
            write(answer, context: context)
        } else {
            pending = answer
        }
    }

    private func write(_ answer: ErrorAnswer, context: ChannelHandlerContext) {
        var head = HTTPResponse(status: .init(code: answer.status))
        head.headerFields[.contentType] = "application/json"
        head.headerFields[.contentLength] = String(answer.body.count)
        head.headerFields[.connection] = "close"
        for (name, value) in answer.headers.sorted(by: { $0.key < $1.key }) {
            if let name = HTTPField.Name(name) { head.headerFields[name] = value }
        }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: answer.body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
