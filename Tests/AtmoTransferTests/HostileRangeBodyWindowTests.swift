import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOPosix
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
        let server = HostileBodyServer(answer: .silentError(status: 404))
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
