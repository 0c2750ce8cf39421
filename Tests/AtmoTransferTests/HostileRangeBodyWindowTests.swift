import AsyncHTTPClient
import AtmoProtocol
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import AtmoTransfer

/// An error answer on a kept `RangeConnection` has the floor's window from its head to end,
/// even when the peer then goes silent (hostile review dec07e, F1): the collector checks the
/// window only when a body byte comes, so a peer that sent one byte and then nothing held the
/// worker for the window plus the stall timeout.
@Suite(.serialized)
struct HostileRangeBodyWindowTests {
    @Test
    func anErrorAnswerThatGoesSilentEndsWithinTheWindow() async throws {
        let server = SilentErrorServer()
        let url = try await server.start()
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        // A stall timeout far past the window (1 s): before the fix the exchange ended on it,
        // with `.timeout`, instead of on the window, as its 404 says.
        let connection = RangeConnection(baseURL: url, eventLoop: loop, connectTimeout: .seconds(5), stallTimeout: .seconds(20))
        var client = PeerClient(baseURL: url, http: HTTPClient.shared, logger: Logger(label: "hostile-range-window-test"))
        client.throughputFloor = (4096, 1)
        let peer = client
        let entry = server.entry
        let result: Result<Int, any Error>
        do {
            let chunks = try await withDeadline(60) {
                try await peer.fetchChunks(of: entry, offset: 0, length: 64 * 1024, on: loop, over: connection, received: { _ in })
            }
            result = .success(chunks.count)
        } catch {
            result = .failure(error)
        }
        connection?.close()
        await server.stop()
        guard case .failure(let error) = result else {
            Issue.record("a 404 gave \(result)")
            return
        }
        let transfer = try #require(error as? TransferError, "\(error)")
        #expect(transfer.code == .notOffered, "\(transfer)")
    }
}

/// A loopback server that answers every request with a 404 announcing a 4,000-byte body,
/// sends one byte of it, and then nothing (the connection stays open until `stop`).
final class SilentErrorServer: Sendable {
    let entry: ModelEntry
    private let channel = Mutex<(any Channel)?>(nil)

    init() {
        let bytes = Data(repeating: 7, count: 128 * 1024)
        entry = ModelEntry(
            modelID: "silent-error", name: "Silent", type: "llm", format: "gguf", sizeBytes: Int64(bytes.count),
            sha256: SHA256Hex.of(bytes), version: "1")
    }

    /// Starts listening on `127.0.0.1:{free port}`; returns the base URL.
    func start() async throws -> String {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Handler()) }
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
        private var heads = RangeRequestHeads()

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            for _ in heads.take(&buffer) {
                var out = context.channel.allocator.buffer(capacity: 256)
                out.writeString("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{")
                context.writeAndFlush(wrapOutboundOut(out), promise: nil)
            }
        }
    }
}
