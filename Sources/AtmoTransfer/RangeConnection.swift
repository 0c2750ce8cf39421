import AtmoProtocol
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// One plain-HTTP connection to a peer, kept alive for the range requests of one pull
/// worker, one request at a time, read on the worker's own event loop.
///
/// Every worker of a swarm pull that asks a plain-HTTP peer (whole-file or partial holder)
/// uses one instead of AsyncHTTPClient, for two reasons measured on loopback
/// (docs/BENCHMARKS.md, figure 5 and "Connections of a pull from several sources"):
/// AsyncHTTPClient reads at most 64 KiB at a time (its channels keep NIO's default receive
/// allocator: 16,000 reads per GiB, each through its state machines), and a request bound to
/// an event loop (`.delegateAndChannel(on:)`) gets a connection of its own that the pool
/// closes once it is idle (an "overflow" connection): a new TCP connection for most ranges
/// (684 per GiB from three providers). Here reads take up to
/// `maximumReadBytes`, and the connection stays open between ranges.
///
/// The answer goes to the same `RangeBodyCollector` as AsyncHTTPClient's (the range, ETag
/// and length checks, the throughput floor, the shaper), and the response is parsed by
/// NIO's `HTTPClientCodec`. A peer silent for `stallTimeout` while an answer is due fails it
/// with `.timeout`; a connection closed before the answer's end fails it with
/// `.peerUnreachable`; a connect slower than `connectTimeout` fails with `.timeout` (a
/// cancelled one ends at once, `ConnectAttempt`). A kept connection the peer closed while
/// idle is replaced once, also when the close crossed the request (`ClosedBeforeAnswer`).
/// Plain `http://` only: TLS peers keep AsyncHTTPClient.
final class RangeConnection: Sendable {
    /// Where requests go: the address to connect to and the `Host` header.
    struct Target: Sendable, Equatable {
        var host: String
        var port: Int
        var hostHeader: String

        /// The target of an `http://` base URL; nil for any other scheme.
        init?(baseURL: String) {
            guard let components = URLComponents(string: baseURL), components.scheme?.lowercased() == "http",
                var host = components.host, !host.isEmpty
            else { return nil }
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            let port = components.port ?? 80
            guard (1...65535).contains(port) else { return nil }
            self.host = host
            self.port = port
            let shown = host.contains(":") ? "[\(host)]" : host
            hostHeader = components.port == nil ? shown : "\(shown):\(port)"
        }
    }

    /// The largest read from the socket (NIO's adaptive allocator grows up to it while the
    /// reads fill their buffers, and shrinks back when they do not, so a buffer held for the
    /// hasher is mostly bytes).
    /// (256 KiB: 1 MiB reads cost no less CPU on loopback, and left the pull's peak RSS at
    /// 65-75 MiB, its buffers held for the hasher partly empty.)
    static let maximumReadBytes = 256 * 1024
    static let initialReadBytes = 128 * 1024

    let target: Target
    let eventLoop: any EventLoop
    let connectTimeout: TimeAmount
    let stallTimeout: TimeAmount
    private let channel = Mutex<(any Channel)?>(nil)

    /// Nil unless `baseURL` is plain `http://` and `eventLoop` is NIO's own (POSIX) loop.
    init?(baseURL: String, eventLoop: any EventLoop, connectTimeout: TimeAmount, stallTimeout: TimeAmount) {
        guard let target = Target(baseURL: baseURL), ClientBootstrap(validatingGroup: eventLoop) != nil else { return nil }
        self.target = target
        self.eventLoop = eventLoop
        self.connectTimeout = connectTimeout
        self.stallTimeout = stallTimeout
    }

    /// GETs `path` (percent-encoded, with its query) with `headers` and hands the answer to
    /// `collector`. Throws `TransferError`s, `RangeBodyCollector.StopReading` (an answer that
    /// is not the range, cut after `collector.otherBodyLimit` bytes) or the collector's own.
    func get(path: String, headers: HTTPHeaders, collector: RangeBodyCollector) async throws -> RangeBodyCollector.Answer {
        // A kept connection that closed since (the peer, or the last answer's failure) is
        // replaced once: nothing was sent on it, or the peer closed it as the request went
        // out, before any byte of the answer (an idle timeout on its side).
        do {
            return try await exchange(path: path, headers: headers, collector: collector)
        } catch is RangeExchangeHandler.Unusable {
            dropChannel()
        } catch is RangeExchangeHandler.ClosedBeforeAnswer {
            dropChannel()
        }
        do {
            return try await exchange(path: path, headers: headers, collector: collector)
        } catch is RangeExchangeHandler.Unusable {
            dropChannel()
            throw TransferError(.peerUnreachable, "\(target.hostHeader) closed the connection")
        } catch is RangeExchangeHandler.ClosedBeforeAnswer {
            dropChannel()
            throw TransferError(.peerUnreachable, "\(target.hostHeader) closed the connection before answering")
        }
    }

    private func dropChannel() {
        channel.withLock { channel in
            channel?.close(promise: nil)
            channel = nil
        }
    }

    private func exchange(path: String, headers: HTTPHeaders, collector: RangeBodyCollector) async throws -> RangeBodyCollector.Answer {
        try Task.checkCancellation()
        let channel = try await openChannel()
        var requestHeaders = headers
        requestHeaders.replaceOrAdd(name: "Host", value: target.hostHeader)
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: requestHeaders)
        let ticket = RangeExchangeHandler.Ticket()
        let promise = eventLoop.makePromise(of: RangeBodyCollector.Answer.self)
        let stallTimeout = self.stallTimeout
        return try await withTaskCancellationHandler {
            channel.eventLoop.execute {
                guard let handler = try? channel.pipeline.syncOperations.handler(type: RangeExchangeHandler.self) else {
                    promise.fail(RangeExchangeHandler.Unusable())
                    return
                }
                handler.begin(.init(collector: collector, promise: promise, ticket: ticket), head: head, stallTimeout: stallTimeout)
            }
            return try await promise.futureResult.get()
        } onCancel: {
            ticket.cancel()
            channel.eventLoop.execute {
                (try? channel.pipeline.syncOperations.handler(type: RangeExchangeHandler.self))?.cancel(ticket)
            }
        }
    }

    /// The request target of `url`: its percent-encoded path and query; nil if it has none.
    static func requestPath(of url: String) -> String? {
        guard let components = URLComponents(string: url) else { return nil }
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        guard path.hasPrefix("/") else { return nil }
        return components.percentEncodedQuery.map { "\(path)?\($0)" } ?? path
    }

    /// Closes the connection (the worker is done).
    func close() {
        channel.withLock { channel in
            channel?.close(promise: nil)
            channel = nil
        }
    }

    /// The kept connection while it is open, else a new one.
    private func openChannel() async throws -> any Channel {
        if let open = channel.withLock({ $0 }), open.isActive { return open }
        let attempt = ConnectAttempt()
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(
                ChannelOptions.recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 16 * 1024, initial: Self.initialReadBytes, maximum: Self.maximumReadBytes)
            )
            .channelInitializer { channel in
                guard attempt.opened(channel) else { return channel.eventLoop.makeFailedFuture(CancellationError()) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(RangeExchangeHandler(peer: self.target.hostHeader))
                }
            }
        let opened: any Channel
        do {
            opened = try await withTaskCancellationHandler {
                try await bootstrap.connect(host: target.host, port: target.port).get()
            } onCancel: {
                attempt.cancel()
            }
        } catch {
            if attempt.isCancelled { throw CancellationError() }
            guard let error = error as? ChannelError, case .connectTimeout = error else { throw error }
            throw TransferError(.timeout, "\(target.hostHeader) did not accept a connection in time (is the address right?)")
        }
        if attempt.isCancelled {
            opened.close(promise: nil)
            throw CancellationError()
        }
        let previous = channel.withLock { channel in
            defer { channel = opened }
            return channel
        }
        previous?.close(promise: nil)
        return opened
    }
}
