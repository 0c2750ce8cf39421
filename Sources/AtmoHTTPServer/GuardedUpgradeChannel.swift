import AtmoProtocol
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// The server channel of both `atmo serve` and `atmo relay`: HTTP/1.1 that may upgrade to a
/// WebSocket (hummingbird-websocket's upgradable pipeline), with guards added around it:
///
/// ```
/// SendStallGuard → ConnectionGuard → HTTP encoder/decoder → RequestHeadGate → upgrade handler
///   → FirstRequestErrorResponder → (HTTP: codec, MalformedRequestResponder, …, idle handler)
/// ```
///
/// - `SendStallGuard`: a connection whose client takes no byte while bytes wait is closed
///   after `sendStallTimeout` (it stays after an upgrade, so WebSockets are covered too);
/// - `ConnectionGuard`: connections per client address (and the address's reserve, for
///   `ReservedRequests` only), and the time to the first complete request head (the
///   upgradable pipeline has no idle handler before it);
/// - `RequestHeadGate`: the rules of `RequestHeadCheck` on every request head;
/// - `FirstRequestErrorResponder`: until the first request head is through, the upgradable
///   pipeline has no handler for a parser error (raw control characters, an oversized
///   request line) or a refused head: the connection would hang with no answer. It answers
///   those with the server's JSON error and closes; after the first head it steps aside and
///   `MalformedRequestResponder` covers later requests, as on a plain HTTP server.
package struct GuardedUpgradeChannel: ServerChildChannel {
    package typealias Value = HTTP1WebSocketUpgradeChannel.Value

    let inner: HTTP1WebSocketUpgradeChannel
    let limits: HTTPConnectionLimits
    let limiter: ConnectionLimiter
    let maxRequestBodyBytes: Int
    let reservedRequests: ReservedRequests

    package func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            let admission = ConnectionAdmission(reservedRequests: reservedRequests)
            try pipeline.addHandler(RequestHeadGate(maxBodyBytes: maxRequestBodyBytes, admission: admission), position: .after(decoder))
            try pipeline.addHandler(FirstRequestErrorResponder())
            try pipeline.addHandler(SendStallGuard(limit: TimeAmount(limits.sendStallTimeout), logger: logger), position: .first)
            // Last but nearest the socket after the stall guard, so that a connection refused
            // at once finds the others in place.
            try pipeline.addHandler(
                ConnectionGuard(
                    limiter: limiter, headTimeout: TimeAmount(limits.requestHeadTimeout), logger: logger, admission: admission),
                position: .after(pipeline.handler(type: SendStallGuard.self)))
            return value
        }
    }

    package func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// `GuardedUpgradeChannel` around hummingbird-websocket's upgrade channel. `configuration`'s
    /// idle timeout is replaced by `limits.idleTimeout`, and `MalformedRequestResponder` is put
    /// first among its additional handlers. `maxRequestBodyBytes`: the largest body a route
    /// reads (a larger `Content-Length` with `Expect: 100-continue` gets 413 at once).
    /// `reservedRequests`: what a connection from an address's reserve may ask for.
    package static func guardedWebSocketUpgrade(
        configuration: HTTP1WebSocketUpgradeChannel.Configuration,
        limits: HTTPConnectionLimits,
        maxRequestBodyBytes: Int,
        reservedRequests: ReservedRequests = .health,
        shouldUpgrade:
            @escaping @Sendable (HTTPRequest, any Channel, Logger) async throws -> ShouldUpgradeResult<
                WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>
            >
    ) -> HTTPServerBuilder {
        let limiter = ConnectionLimiter(
            limitPerAddress: limits.maxConnectionsPerAddress, reservePerAddress: limits.reservedConnectionsPerAddress)
        let handlers = configuration.http1.additionalChannelHandlers
        var http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [MalformedRequestResponder()] + handlers(), idleTimeout: TimeAmount(limits.idleTimeout))
        http1.httpDecoder = configuration.http1.httpDecoder
        let guarded = HTTP1WebSocketUpgradeChannel.Configuration(http1: http1, ws: configuration.ws)
        return HTTPServerBuilder { responder in
            GuardedUpgradeChannel(
                inner: HTTP1WebSocketUpgradeChannel(responder: responder, configuration: guarded, shouldUpgrade: shouldUpgrade),
                limits: limits, limiter: limiter, maxRequestBodyBytes: maxRequestBodyBytes, reservedRequests: reservedRequests)
        }
    }
}

extension TimeAmount {
    /// `duration` in nanoseconds.
    package init(_ duration: Duration) {
        let parts = duration.components
        self = .nanoseconds(parts.seconds * 1_000_000_000 + parts.attoseconds / 1_000_000_000)
    }
}

/// Answers a parser error or a refused head before the first request head got through with
/// the server's JSON error and closes; removes itself once anything got through.
final class FirstRequestErrorResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var answered = false

    /// Whatever comes first (a request head, or after an upgrade a WebSocket frame, so the
    /// data is never unwrapped here) means the request was parsed: step aside.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let answer = ErrorAnswer(error), !answered else {
            context.fireErrorCaught(error)
            return
        }
        answered = true
        var headers = HTTPHeaders([
            ("Content-Type", "application/json"), ("Content-Length", String(answer.body.count)), ("Connection", "close"),
        ])
        for (name, value) in answer.headers.sorted(by: { $0.key < $1.key }) { headers.add(name: name, value: value) }
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: answer.status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: answer.body)))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            ConnectionGuard.closeQuietly(channel)
        }
    }
}

/// The JSON answer to a parser error (400 `Malformed HTTP request`) or a `RequestHeadError`.
struct ErrorAnswer {
    var status: Int
    var headers: [String: String]
    var body: Data

    init?(_ error: any Error) {
        let message: HTTPAPI.ErrorBody
        switch error {
        case is HTTPParserError:
            status = 400
            headers = [:]
            message = HTTPAPI.ErrorBody(error: "Malformed HTTP request")
        case let refusal as RequestHeadError:
            status = refusal.status
            headers = refusal.headers
            message = HTTPAPI.ErrorBody(error: refusal.message, code: refusal.code)
        default:
            return nil
        }
        body = (try? WireCoding.encode(message)) ?? Data(#"{"error":"Malformed HTTP request"}"#.utf8)
    }
}
