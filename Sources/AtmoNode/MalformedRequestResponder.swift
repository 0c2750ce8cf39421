import AtmoProtocol
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers a request the HTTP parser rejects (raw control characters or NUL in the
/// request line, broken headers) with `400 {"error": ...}` and closes the connection, so
/// even those get the JSON error body every other answer of this server has. Hummingbird
/// alone would send an empty 400.
///
/// It only answers when no response is in progress on the connection (every request head
/// read so far has had its response ended); otherwise it passes the error on and
/// Hummingbird ends the connection after the current response, as before.
final class MalformedRequestResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var requestsRead = 0
    private var responsesEnded = 0
    private var answered = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { requestsRead += 1 }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { responsesEnded += 1 }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError, requestsRead == responsesEnded, !answered else {
            context.fireErrorCaught(error)
            return
        }
        answered = true
        let body = (try? WireCoding.encode(HTTPAPI.ErrorBody(error: "Malformed HTTP request")))
            ?? Data(#"{"error":"Malformed HTTP request"}"#.utf8)
        var head = HTTPResponse(status: .badRequest)
        head.headerFields[.contentType] = "application/json"
        head.headerFields[.contentLength] = String(body.count)
        head.headerFields[.connection] = "close"
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
