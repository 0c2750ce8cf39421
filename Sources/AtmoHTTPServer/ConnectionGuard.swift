import AtmoProtocol
import Foundation
import Logging
import NIOCore

/// The first handler of every connection of both servers, in front of the HTTP decoder:
/// - it admits the connection only while its client address holds fewer than
///   `maxConnectionsPerAddress` (a `ConnectionLimiter` shared by the server), else into the
///   address's reserve while that has room (`ConnectionAdmission.isReserved`: short requests
///   only, held to that by `RequestHeadGate`); one more is answered `503` and closed;
/// - it closes a connection that has not sent a complete first request head within
///   `requestHeadTimeout` (`408` when part of one came), and one still waiting for its first
///   head when the server shuts down gracefully (also one told so before it was active).
///
/// hummingbird-websocket's upgradable pipeline adds Hummingbird's idle handler only once the
/// first request head is parsed, so before it nothing else times a connection out. After the
/// first head (told by `RequestHeadGate` with `RequestHeadReceived`) this handler only counts
/// the connection until it closes; the idle handler and the WebSocket layer take over.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Sent as an outbound user event by `RequestHeadGate` once the first head is parsed.
    struct RequestHeadReceived: Sendable {}

    private enum State {
        /// Not active yet.
        case new
        /// Admitted, no complete request head yet.
        case awaitingHead(receivedBytes: Bool)
        /// A request head came: nothing left to do but count.
        case serving
        /// Refused or timed out: input is dropped until the socket is closed.
        case ending
    }

    private var state = State.new
    private let limiter: ConnectionLimiter
    private let admission: ConnectionAdmission
    private let headTimeout: TimeAmount
    private let logger: Logger
    /// The address this connection counts against, once admitted.
    private var countedAddress: String?
    private var timeout: Scheduled<Void>?
    /// The server began its graceful shutdown before this connection was active (its
    /// handlers were set up, its registration not done): it is closed once active.
    private var quiesced = false

    init(
        limiter: ConnectionLimiter, headTimeout: TimeAmount, logger: Logger,
        admission: ConnectionAdmission = ConnectionAdmission(reservedRequests: .health)
    ) {
        self.limiter = limiter
        self.admission = admission
        self.headTimeout = headTimeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { activate(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    func channelActive(context: ChannelHandlerContext) {
        activate(context: context)
        // A refused connection is already closing (its inactive event may have gone by):
        // the handlers after this one never see it active.
        if case .ending = state { return }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .ending:
            return
        case .awaitingHead:
            state = .awaitingHead(receivedBytes: true)
        case .new, .serving:
            break
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is RequestHeadReceived else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        if case .awaitingHead = state {
            state = .serving
            cancelTimeout()
        }
        promise?.succeed()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            switch state {
            case .awaitingHead: end(context: context, answer: nil)
            case .new: quiesced = true
            case .serving, .ending: break
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func activate(context: ChannelHandlerContext) {
        guard case .new = state else { return }
        if let address = context.channel.remoteAddress?.ipAddress {
            switch limiter.opened(from: address) {
            case .admitted:
                break
            case .reserved:
                admission.isReserved = true
            case .refused:
                logger.debug("refused a connection: too many from its address", metadata: ["address": "\(address)"])
                end(context: context, answer: Self.answer(.tooManyConnections))
                return
            }
            countedAddress = address
        }
        state = .awaitingHead(receivedBytes: false)
        // Told of the shutdown before it was active: no later quiesce event comes for it.
        if quiesced {
            end(context: context, answer: nil)
            return
        }
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: headTimeout) { [self] in
            timeout = nil
            guard case .awaitingHead(let receivedBytes) = state else { return }
            logger.debug(
                "closed a connection that sent no complete request head in time",
                metadata: ["timeout": "\(headTimeout)", "partial_head": "\(receivedBytes)"])
            end(context: context, answer: receivedBytes ? Self.answer(.requestTimeout) : nil)
        }
    }

    /// Drops further input, writes `answer` (when any) and closes quietly.
    private func end(context: ChannelHandlerContext, answer: ByteBuffer?) {
        state = .ending
        cancelTimeout()
        if let answer { context.writeAndFlush(wrapOutboundOut(answer), promise: nil) }
        Self.closeQuietly(context.channel)
    }

    private func cancelTimeout() {
        timeout?.cancel()
        timeout = nil
    }

    private func release() {
        cancelTimeout()
        if let address = countedAddress {
            countedAddress = nil
            limiter.closed(from: address, reserved: admission.isReserved)
        }
    }

    /// Closes a connection that has not reached the HTTP handlers, so that the upgrade
    /// handler ends as for a client that closed its side (its negotiation fails with
    /// `inputClosed`, which hummingbird-websocket logs at trace level) instead of being torn
    /// out of the pipeline (an error logged for every such connection). Then closes the
    /// channel for sure.
    static func closeQuietly(_ channel: any Channel) {
        if let gate = try? channel.pipeline.syncOperations.context(handlerType: RequestHeadGate.self) {
            gate.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
        channel.close(promise: nil)
    }

    /// The answers written straight to the socket, before any HTTP handler saw a request.
    enum Answer {
        case tooManyConnections
        case requestTimeout
    }

    static func answer(_ answer: Answer) -> ByteBuffer {
        let (status, message, code): (String, String, String) =
            switch answer {
            case .tooManyConnections: ("503 Service Unavailable", "Too many connections from this address", "too_many_connections")
            case .requestTimeout: ("408 Request Timeout", "No complete request head in time", "request_timeout")
            }
        let body = (try? WireCoding.encode(HTTPAPI.ErrorBody(error: message, code: code))) ?? Data(#"{"error":"\#(message)"}"#.utf8)
        var head = "HTTP/1.1 \(status)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        if case .tooManyConnections = answer { head += "Retry-After: 1\r\n" }
        var buffer = ByteBuffer(string: head + "\r\n")
        buffer.writeBytes(body)
        return buffer
    }
}
