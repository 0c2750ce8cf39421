import NIOCore
import NIOHTTP1

/// Sits right after the HTTP decoder, before hummingbird-websocket's upgrade handler, and
/// holds every request head to `RequestHeadCheck`:
/// - the first head tells `ConnectionGuard` a complete request head came;
/// - on a connection from its address's reserve, a head for anything but the server's short
///   requests (`ReservedRequests`) is refused with `503 too_many_connections`;
/// - a refused head (and everything after it: the connection closes) goes no further: a
///   `RequestHeadError` is raised instead, which `FirstRequestErrorResponder` (first
///   request) or `MalformedRequestResponder` (later ones, after the answers to the requests
///   before it) answers as JSON before closing;
/// - `100 Continue` is written for a client that waits for it;
/// - an `Upgrade` other than WebSocket is removed: NIO's upgrade handler swallows the head of
///   a request whose `Upgrade` no upgrader takes, so such a request got no answer at all.
///
/// It leaves the pipeline once a WebSocket upgrade passed (the connection stops being HTTP).
final class RequestHeadGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let maxBodyBytes: Int
    private let admission: ConnectionAdmission
    private var headsSeen = 0
    /// After a refused head, everything is dropped (the connection is closing).
    private var refused = false

    init(maxBodyBytes: Int, admission: ConnectionAdmission = ConnectionAdmission(reservedRequests: .health)) {
        self.maxBodyBytes = maxBodyBytes
        self.admission = admission
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        guard case .head(let head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        let isFirst = headsSeen == 0
        headsSeen += 1
        if isFirst { context.triggerUserOutboundEvent(ConnectionGuard.RequestHeadReceived(), promise: nil) }
        let verdict = admission.refusal(uri: head.uri).map { RequestHeadCheck.Verdict.refuse($0) }
        switch verdict ?? RequestHeadCheck.check(head, isFirst: isFirst, maxBodyBytes: maxBodyBytes) {
        case .refuse(let error):
            refused = true
            context.fireErrorCaught(error)
        case .pass(let head, let sendContinue):
            if sendContinue {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
            context.fireChannelRead(wrapInboundOut(.head(head)))
            if isFirst, RequestHeadCheck.isWebSocketUpgrade(head) {
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            }
        }
    }
}
