import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import AtmoTransfer

/// Range answers whose bodies cost a pull time (hostile review dec07e, F1), over both ways
/// a range is read: AsyncHTTPClient and a kept `RangeConnection`. Both go through
/// `RangeBodyCollector`, which bounds them.
@Suite(.serialized)
struct HostileRangeBodyTests {
    static let length: Int64 = 256 * 1024

    /// Fetches the first `length` bytes of `server`'s file, over a `RangeConnection` or
    /// AsyncHTTPClient, with a throughput floor of 4 KiB/s over `windowSeconds`.
    static func fetch(_ server: HostileBodyServer, overConnection: Bool, windowSeconds: Double = 1) async throws -> Result<Int64, any Error> {
        let url = try await server.start()
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let connection = overConnection
            ? RangeConnection(baseURL: url, eventLoop: loop, connectTimeout: .seconds(5), stallTimeout: .seconds(30)) : nil
        var client = PeerClient(baseURL: url, http: HTTPClient.shared, logger: Logger(label: "hostile-range-body-test"))
        client.throughputFloor = (4096, windowSeconds)
        let peer = client
        let result: Result<Int64, any Error>
        do {
            let chunks = try await withDeadline(60) {
                try await peer.fetchChunks(
                    of: server.entry, offset: 0, length: Self.length, on: loop, over: connection, received: { _ in })
            }
            result = .success(chunks.reduce(0) { $0 + Int64($1.readableBytes) })
        } catch {
            result = .failure(error)
        }
        connection?.close()
        await server.stop()
        return result
    }

    static func transferError(_ result: Result<Int64, any Error>) -> TransferError? {
        guard case .failure(let error) = result else { return nil }
        return error as? TransferError
    }

    @Test(arguments: [true, false])
    func anErrorAnswerWhoseBodyTricklesEndsAsItsStatusSays(overConnection: Bool) async throws {
        // 404 and a body of 4,000 bytes announced, one byte every 100 ms: 60 bytes (6 s),
        // then the server closes. Every byte moves the stall clock; before the fix the
        // request sat on it until the close (a hostile peer never closes).
        let server = HostileBodyServer(answer: .tricklingError(status: 404, interval: .milliseconds(100), bytes: 60))
        let result = try await Self.fetch(server, overConnection: overConnection)
        let error = try #require(Self.transferError(result), "\(result)")
        // Ended by the collector once the floor's window (1 s) passed: the 404 says what
        // went wrong, not the close.
        #expect(error.code == .notOffered, "\(error)")
    }
}
