import AtmoProtocol
import NIOCore
import NIOHTTP1
import Synchronization

/// The handler at the end of a `RangeConnection`'s pipeline (after `HTTPClientCodec`): sends
/// one request, feeds its answer to the exchange's `RangeBodyCollector`, and ends the
/// exchange on the answer's end, an error, a stall, a cancellation or a closed connection.
/// Lives on the channel's event loop.
final class RangeExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    /// Names one request, so a late cancellation cannot end the next one.
    final class Ticket: Sendable {
        private let cancelled = Atomic<Bool>(false)
        func cancel() { cancelled.store(true, ordering: .relaxed) }
        var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
    }

    struct Exchange {
        let collector: RangeBodyCollector
        let promise: EventLoopPromise<RangeBodyCollector.Answer>
        let ticket: Ticket
    }

    /// The connection is closed or closing: `begin` takes no request (a new connection will).
    struct Unusable: Error {}

    /// A connection that carried earlier answers closed before any byte of this one: the
    /// peer closed it while idle (its idle timeout, a restart), and the request crossed the
    /// close. A GET may go again on a new connection (RFC 9110 §9.2.2).
    struct ClosedBeforeAnswer: Error {}

    let peer: String
    private var context: ChannelHandlerContext?
    private var closing = false
    private var exchange: Exchange?
    /// The answer's head said the connection closes after it.
    private var closesAfter = false
    /// Answers this connection carried to their end.
    private var answered = 0
    /// Whether any byte of the current exchange's answer came.
    private var answerStarted = false
    /// The collector's futures not yet complete (the shaper makes reads wait): while there
    /// are any, a read the channel asks for waits.
    private var waiting = 0
    private var paused: Bool { waiting > 0 }
    private var readPending = false
    private var lastActivity = NIODeadline.now()
    private var stallTimeout = TimeAmount.seconds(30)
    private var stallCheck: Scheduled<Void>?
    /// Ends an answer other than the 206 its window after its head (`otherBodyWindow`).
    private var otherBodyCheck: Scheduled<Void>?

    init(peer: String) {
        self.peer = peer
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        end(.failure(TransferError(.peerUnreachable, "\(peer) closed the connection")))
        self.context = nil
    }

    /// Sends `head` and collects its answer into `exchange`.
    func begin(_ exchange: Exchange, head: HTTPRequestHead, stallTimeout: TimeAmount) {
        guard let context, context.channel.isActive, !closing, self.exchange == nil else {
            exchange.promise.fail(Unusable())
            return
        }
        guard !exchange.ticket.isCancelled else {
            exchange.promise.fail(CancellationError())
            return
        }
        self.exchange = exchange
        self.stallTimeout = stallTimeout
        closesAfter = false
        answerStarted = false
        lastActivity = .now()
        scheduleStallCheck(at: lastActivity + stallTimeout)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// The task that waits for `ticket`'s answer was cancelled: the connection cannot carry
    /// another request before this answer's end, so it closes.
    func cancel(_ ticket: Ticket) {
        guard let exchange, exchange.ticket === ticket else { return }
        fail(CancellationError())
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = .now()
        answerStarted = true
        guard let exchange else {
            // Bytes nobody asked for: the peer is not speaking HTTP as a server should.
            context.close(promise: nil)
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            // An interim answer (100 Continue...) is not the answer.
            if head.status.code >= 100 && head.status.code < 200 && head.status != .switchingProtocols { return }
            closesAfter = !head.isKeepAlive
            exchange.collector.headArrived(head)
            if head.status != .partialContent { otherBodyWindow(exchange, context: context) }
        case .body(let buffer):
            let ticket = exchange.ticket
            waiting += 1
            // Completes at once unless the shaper makes the next read wait.
            exchange.collector.bodyArrived(buffer, on: context.eventLoop).assumeIsolated().whenComplete { result in
                self.waiting -= 1
                if case .failure(let error) = result, self.exchange?.ticket === ticket { self.fail(error) }
                if !self.paused, self.readPending {
                    self.readPending = false
                    self.context?.read()
                }
            }
        case .end:
            let result = Result(catching: { try exchange.collector.finished() })
            let close = closesAfter
            if close { closing = true }
            answered += 1
            end(result)
            if close { context.close(promise: nil) }
        }
    }

    func read(context: ChannelHandlerContext) {
        guard !paused else {
            readPending = true
            return
        }
        context.read()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A malformed answer (the codec's parser error), or the socket's: a connection closed
        // in the middle of a body is the peer gone, as with AsyncHTTPClient (retried).
        if let parser = error as? HTTPParserError, parser != .invalidEOFState {
            fail(TransferError(.protocolViolation, "\(peer) sent an answer that is not HTTP/1.1: \(parser)"))
        } else if closedWhileIdle {
            fail(ClosedBeforeAnswer())
        } else {
            let received = exchange.map { " after \($0.collector.bytesSoFar) bytes of the answer" } ?? ""
            fail(TransferError(.peerUnreachable, "\(peer) closed the connection\(received): \(error)"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if closedWhileIdle {
            end(.failure(ClosedBeforeAnswer()))
        } else {
            let received = exchange.map { " after \($0.collector.bytesSoFar) bytes of the answer" } ?? ""
            end(.failure(TransferError(.peerUnreachable, "\(peer) closed the connection\(received)")))
        }
        context.fireChannelInactive()
    }

    /// The connection, kept alive after earlier answers, closed with a request out and not a
    /// byte of its answer in (`ClosedBeforeAnswer`).
    private var closedWhileIdle: Bool {
        exchange != nil && !answerStarted && answered > 0 && !(exchange?.ticket.isCancelled ?? true)
    }

    /// Ends the exchange with `error` and closes the connection (an answer cut short leaves
    /// nothing a next request could follow).
    private func fail(_ error: any Error) {
        closing = true
        end(.failure(error))
        context?.close(promise: nil)
    }

    private func end(_ result: Result<RangeBodyCollector.Answer, any Error>) {
        guard let exchange else { return }
        self.exchange = nil
        stallCheck?.cancel()
        stallCheck = nil
        otherBodyCheck?.cancel()
        otherBodyCheck = nil
        exchange.promise.completeWith(result)
    }

    /// An answer other than the 206 has the collector's window (`otherBodySeconds`) from its
    /// head to end. The collector checks it as body bytes come; a peer that sends one and
    /// then nothing would hold the exchange for the window plus the stall timeout, so the
    /// window's end also fails it, as the collector would (`StopReading`: the answer ends
    /// with what its head and body so far say).
    private func otherBodyWindow(_ exchange: Exchange, context: ChannelHandlerContext) {
        let ticket = exchange.ticket
        let window = TimeAmount.nanoseconds(Int64(exchange.collector.otherBodySeconds * 1e9))
        otherBodyCheck?.cancel()
        otherBodyCheck = context.eventLoop.assumeIsolated().scheduleTask(in: window) {
            guard self.exchange?.ticket === ticket else { return }
            self.fail(RangeBodyCollector.StopReading())
        }
    }

    /// Fails the exchange once nothing arrived for `stallTimeout` (checked at the deadline,
    /// then again at the deadline the last read moved it to).
    private func scheduleStallCheck(at deadline: NIODeadline) {
        guard let context else { return }
        stallCheck?.cancel()
        stallCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            guard self.exchange != nil else { return }
            let due = self.lastActivity + self.stallTimeout
            if self.paused || due > .now() {
                self.scheduleStallCheck(at: max(due, .now() + .milliseconds(100)))
                return
            }
            let seconds = Double(self.stallTimeout.nanoseconds) / 1e9
            self.fail(TransferError(.timeout, "\(self.peer) stopped sending data (nothing for \(seconds) s)"))
        }
    }
}
