import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A loopback TCP proxy between `atmo pull` and `atmo serve`, for faults a real network
/// has: a rate limit shared by every connection (so "mid-transfer" is a matter of bytes, not
/// of how fast this machine is), and a man in the middle that flips one byte of the first
/// `206` body it forwards. Counts the bytes it forwards to the client.
///
/// When the upstream cannot be reached (a restarting server) the client's connection is
/// closed at once; when either side closes, both are closed.
final class TCPProxy: Sendable {
    struct Options: Sendable {
        /// Total bytes per second towards clients; nil: unlimited.
        var bytesPerSecond: Int?
        /// Flip the bits of this byte (counted from the start of the body) of the first
        /// `206 Partial Content` answer; nil: forward faithfully.
        var flipBodyByte: Int?
        /// Pose as a node from before piece manifests (see `PieceManifestHider`): requests
        /// for `/v1/pieces/` get a 404, `piece_size`/`pieces_sha256` vanish from JSON answers.
        var hidePieceManifests = false
    }

    let port: Int
    let upstreamPort: Int
    let options: Options
    private let forwarded = Atomic<Int64>(0)
    private let flipped = Atomic<Bool>(false)
    private let pacer: Mutex<ContinuousClock.Instant>
    private let open = Mutex<(channels: [any Channel], stopped: Bool, cut: Bool)>(([], false, false))
    /// Once set, connections whose first bytes are a download request (`GET` or `HEAD` of
    /// `/v1/models/download/`) are closed: an HTTP path that breaks downloads but not the rest.
    private let refusingDownloads = Atomic<Bool>(false)

    /// Closes the open connections and, from now on, every connection that asks for a download.
    func refuseDownloads() async {
        refusingDownloads.store(true, ordering: .relaxed)
        let channels = open.withLock { state in
            defer { state.channels.removeAll() }
            return state.channels
        }
        for channel in channels { try? await channel.close() }
    }

    /// Bytes forwarded from the server to clients so far (headers included).
    var bytesToClients: Int64 { forwarded.load(ordering: .relaxed) }
    /// True once the man in the middle has flipped its byte.
    var hasFlipped: Bool { flipped.load(ordering: .relaxed) }

    private init(port: Int, upstreamPort: Int, options: Options) {
        self.port = port
        self.upstreamPort = upstreamPort
        self.options = options
        pacer = Mutex(ContinuousClock.now)
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    /// Runs a proxy on a port from the OS in front of `127.0.0.1:upstreamPort` for `body`.
    ///
    /// The proxy is stopped by closing its sockets, never by cancelling the task that
    /// accepts: NIO traps when an accepted connection is dropped unserved (apple/swift-nio#3481).
    static func run<T: Sendable>(
        upstreamPort: Int, options: Options, _ body: @Sendable (TCPProxy) async throws -> T
    ) async throws -> T {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture { try Connection(wrappingChannelSynchronously: channel) }
            }
        let proxy = TCPProxy(port: server.channel.localAddress?.port ?? 0, upstreamPort: upstreamPort, options: options)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await server.executeThenClose { inbound in
                    await withDiscardingTaskGroup { connections in
                        do {
                            for try await client in inbound {
                                connections.addTask { await proxy.relay(client) }
                            }
                        } catch {}
                    }
                }
            }
            let result: Result<T, any Error>
            do {
                result = .success(try await body(proxy))
            } catch {
                result = .failure(error)
            }
            try? await server.channel.close()
            for channel in proxy.stop() { try? await channel.close() }
            try await group.waitForAll()
            return try result.get()
        }
    }

    /// Cuts the path, as a network failure would: every open connection is closed and new
    /// ones are closed as soon as they are accepted.
    func cut() async {
        let channels = open.withLock { state in
            state.cut = true
            defer { state.channels.removeAll() }
            return state.channels
        }
        for channel in channels { try? await channel.close() }
    }

    /// Remembers a connection's channel so `stop` can close it; false once stopped or cut.
    private func track(_ channel: any Channel) -> Bool {
        open.withLock { state in
            guard !state.stopped, !state.cut else { return false }
            state.channels.append(channel)
            return true
        }
    }

    /// Marks the proxy stopped and hands back every channel it opened.
    private func stop() -> [any Channel] {
        open.withLock { state in
            state.stopped = true
            defer { state.channels.removeAll() }
            return state.channels
        }
    }

    private func relay(_ client: Connection) async {
        do {
            try await client.executeThenClose { clientIn, clientOut in
                guard track(client.channel) else { return }
                // Wrapped only once connected: a NIOAsyncChannel whose connect fails traps
                // when it is released (apple/swift-nio#2637). The upstream (an HTTP server)
                // sends nothing before the request, so no byte is missed.
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connectTimeout(.seconds(2))
                    .connect(host: "127.0.0.1", port: upstreamPort).get()
                let upstream = try await channel.eventLoop.submit {
                    try Connection(wrappingChannelSynchronously: channel)
                }.get()
                guard track(channel) else {
                    try await upstream.executeThenClose { _, _ in }
                    return
                }
                try await upstream.executeThenClose { upstreamIn, upstreamOut in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            var first = true
                            for try await buffer in clientIn {
                                if first, self.refusingDownloads.load(ordering: .relaxed) {
                                    let head = buffer.getString(at: buffer.readerIndex, length: min(buffer.readableBytes, 64)) ?? ""
                                    if head.hasPrefix("GET /v1/models/download/") || head.hasPrefix("HEAD /v1/models/download/") { return }
                                }
                                first = false
                                var buffer = buffer
                                if self.options.hidePieceManifests { PieceManifestHider.rewriteRequests(&buffer) }
                                try await upstreamOut.write(buffer)
                            }
                        }
                        group.addTask {
                            var tamper = ResponseTamper(flipAt: self.options.flipBodyByte)
                            for try await buffer in upstreamIn {
                                var buffer = buffer
                                await self.pace(buffer.readableBytes)
                                tamper.process(&buffer) {
                                    self.flipped.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged
                                }
                                if self.options.hidePieceManifests { PieceManifestHider.blankManifestFields(&buffer) }
                                self.forwarded.add(Int64(buffer.readableBytes), ordering: .relaxed)
                                try await clientOut.write(buffer)
                            }
                        }
                        // Either side closing ends the pair.
                        _ = try await group.next()
                        group.cancelAll()
                    }
                }
            }
        } catch {
            try? await client.channel.close()
        }
    }

    /// Waits until `count` more bytes fit the shared rate.
    private func pace(_ count: Int) async {
        guard let rate = options.bytesPerSecond, rate > 0 else { return }
        let cost = Duration.seconds(Double(count) / Double(rate))
        let start = pacer.withLock { next -> ContinuousClock.Instant in
            let start = max(next, ContinuousClock.now)
            next = start + cost
            return start
        }
        try? await Task.sleep(until: start + cost, clock: .continuous)
    }
}

/// Follows the HTTP/1.1 answers on one connection (status line, `Content-Length`, body) and
/// flips one body byte of the first `206` when `claim` grants it (once per proxy).
struct ResponseTamper {
    let flipAt: Int?
    private var header: [UInt8] = []
    private var bodyRemaining = 0
    private var bodyOffset = 0
    private var target = false
    private var gaveUp = false

    init(flipAt: Int?) { self.flipAt = flipAt }

    /// Inspects (and maybe changes) `buffer`; returns true when it flipped a byte.
    @discardableResult
    mutating func process(_ buffer: inout ByteBuffer, claim: () -> Bool) -> Bool {
        guard let flipAt, !gaveUp else { return false }
        var flippedNow = false
        var index = buffer.readerIndex
        let end = buffer.writerIndex
        while index < end {
            if bodyRemaining > 0 {
                let take = min(bodyRemaining, end - index)
                if target, flipAt >= bodyOffset, flipAt < bodyOffset + take, claim() {
                    let position = index + (flipAt - bodyOffset)
                    buffer.setInteger(~buffer.getInteger(at: position, as: UInt8.self)!, at: position)
                    flippedNow = true
                    target = false
                }
                bodyRemaining -= take
                bodyOffset += take
                index += take
                continue
            }
            header.append(buffer.getInteger(at: index, as: UInt8.self)!)
            index += 1
            guard header.count >= 4, header.suffix(4).elementsEqual([13, 10, 13, 10]) else {
                if header.count > 64 * 1024 { gaveUp = true }
                continue
            }
            let text = String(decoding: header, as: UTF8.self).lowercased()
            header.removeAll()
            guard
                let length = text.components(separatedBy: "\r\n").first(where: { $0.hasPrefix("content-length:") })
                    .flatMap({ Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) })
            else {
                gaveUp = true  // no length (chunked or close-delimited): stop following
                return flippedNow
            }
            bodyRemaining = length
            bodyOffset = 0
            target = text.hasPrefix("http/1.1 206") && flipAt < length
        }
        return flippedNow
    }
}
