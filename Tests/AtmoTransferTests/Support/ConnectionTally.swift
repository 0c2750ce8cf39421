import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTPTypes
import ServiceLifecycle
import Synchronization

/// The connections a `FakePeer` served through `withCountingFakePeer`: all it accepted and
/// those still open, and among them the ones that carried a download
/// (`GET /v1/models/download/...`: the range requests of a pull).
final class ConnectionTally: Sendable {
    struct Counts: Sendable, CustomStringConvertible {
        var accepted = 0
        var open = 0
        var downloadAccepted = 0
        var downloadOpen = 0
        var description: String { "accepted \(accepted) (open \(open)), with downloads \(downloadAccepted) (open \(downloadOpen))" }
    }

    /// Whether each connection is closed as soon as a download answer was sent whole, without
    /// saying so (no `Connection: close`): a provider that closes kept-alive connections
    /// between requests (an idle timeout, a restart).
    let closesAfterDownloads: Bool
    private let counts = Mutex(Counts())

    init(closesAfterDownloads: Bool = false) {
        self.closesAfterDownloads = closesAfterDownloads
    }

    var now: Counts { counts.withLock { $0 } }

    fileprivate func update(_ change: (inout Counts) -> Void) { counts.withLock { change(&$0) } }

    /// A handler for Hummingbird's HTTP/1 pipeline (after the HTTP codec) that counts its
    /// connection into the tally.
    fileprivate final class Handler: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        typealias InboundOut = HTTPRequestPart
        typealias OutboundIn = HTTPResponsePart
        typealias OutboundOut = HTTPResponsePart

        let tally: ConnectionTally
        private var carriedDownload = false
        private var answeringDownload = false
        private var counted = false

        init(tally: ConnectionTally) {
            self.tally = tally
        }

        func handlerAdded(context: ChannelHandlerContext) {
            counted = true
            tally.update {
                $0.accepted += 1
                $0.open += 1
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            closed()
            context.fireChannelInactive()
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            closed()
        }

        private func closed() {
            guard counted else { return }
            counted = false
            let download = carriedDownload
            tally.update {
                $0.open -= 1
                if download { $0.downloadOpen -= 1 }
            }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head(let head) = unwrapInboundIn(data), head.path?.hasPrefix("/v1/models/download/") == true {
                answeringDownload = true
                if !carriedDownload, counted {
                    carriedDownload = true
                    tally.update {
                        $0.downloadAccepted += 1
                        $0.downloadOpen += 1
                    }
                }
            }
            context.fireChannelRead(data)
        }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            guard case .end = unwrapOutboundIn(data), answeringDownload else {
                context.write(data, promise: promise)
                return
            }
            answeringDownload = false
            guard tally.closesAfterDownloads else {
                context.write(data, promise: promise)
                return
            }
            let written = promise ?? context.eventLoop.makePromise()
            context.write(data, promise: written)
            context.flush()
            written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}

/// `withFakePeer`, with the connections the peer serves counted into `tally`.
func withCountingFakePeer<T: Sendable>(
    _ peer: FakePeer, tally: ConnectionTally, _ body: @escaping @Sendable (String) async throws -> T
) async throws -> T {
    try await withFakePeer(peer, channelHandlers: { [ConnectionTally.Handler(tally: tally)] }, body)
}

/// `withCountingFakePeer` for each of `peers` with its tally, in order.
func withCountingFakePeers<T: Sendable>(
    _ peers: [(FakePeer, ConnectionTally)], _ body: @escaping @Sendable ([String]) async throws -> T
) async throws -> T {
    guard let (first, tally) = peers.first else { return try await body([]) }
    let rest = Array(peers.dropFirst())
    return try await withCountingFakePeer(first, tally: tally) { url in
        try await withCountingFakePeers(rest) { urls in try await body([url] + urls) }
    }
}
