import AtmoNode
import AtmoProtocol
import AtmoTesting
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// The node's own pull of a peer's catalogs (`GET /v1/catalogs`, `MeshService.fetchEverything`)
/// no longer drops the catalogs it could not read without a trace: they are remembered as
/// `unreadable` refusals (and warned about), and `GET /v1/mesh/peers` shows them beside the peer.
@Suite(.timeLimit(.minutes(2)))
struct UnreadablePulledCatalogTests {
    @Test func aCatalogNestedTooDeepInAPulledAnswerShowsAsRefused() async throws {
        // One catalog that is an array nested far deeper than `WireLimits.maxJSONDepth`.
        let deep = #"{"catalogs":["# + String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000) + "]}"
        let peer = FixedAnswerServer(body: deep)
        let url = try await peer.start()
        do {
            try await Self.check(pulledFrom: url)
        } catch {
            await peer.stop()
            throw error
        }
        await peer.stop()
    }

    static func check(pulledFrom url: String) async throws {
        try await withTemporaryDirectory { directory in
            try await withMeshNode(stateDirectory: directory.sub("node"), folders: []) { configuration in
                configuration.mesh.peers = [url]
            } _: { node in
                var refusal: MeshAPI.RefusedCatalog?
                let seen = try await eventually(timeout: .seconds(30)) {
                    refusal = try await RefusedCatalogPullHintTests.peers(node).refusedCatalogs?.first { $0.sender == "pull:" + url }
                    return refusal != nil
                }
                #expect(seen, "the unreadable catalog of the pulled answer is remembered")
                #expect(refusal?.reason == "unreadable")
                #expect(refusal?.entries == 1)
                let detail = refusal?.detail ?? ""
                #expect(detail.contains("nests more than \(WireLimits.maxJSONDepth) levels"), "\(detail)")
                let listed = try await RefusedCatalogPullHintTests.peers(node).peers.first { $0.http == url }
                #expect(listed?.refusedCatalogs?.first?.reason == "unreadable", "beside the peer it came from")
            }
        }
    }
}

/// A loopback server (port 0) that answers every request with `200` and `body`, then closes.
final class FixedAnswerServer: Sendable {
    let body: String
    private let channel = Mutex<(any Channel)?>(nil)

    init(body: String) {
        self.body = body
    }

    /// Starts listening on `127.0.0.1:{free port}`; returns the base URL.
    func start() async throws -> String {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
        let answer = head + "Connection: close\r\n\r\n" + body
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Handler(answer: answer)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        channel.withLock { $0 = server }
        return "http://127.0.0.1:\(server.localAddress?.port ?? 0)"
    }

    func stop() async {
        try? await channel.withLock { $0 }?.close()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let answer: String
        private var head: [UInt8] = []
        private var answered = false

        init(answer: String) {
            self.answer = answer
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !answered else { return }
            head.append(contentsOf: unwrapInboundIn(data).readableBytesView)
            guard head.count <= 64 * 1024 else { return context.close(promise: nil) }
            guard String(decoding: head, as: UTF8.self).contains("\r\n\r\n") else { return }
            answered = true
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(string: answer))).whenComplete { _ in
                channel.close(promise: nil)
            }
        }
    }
}
