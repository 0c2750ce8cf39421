import AsyncHTTPClient
import AtmoProtocol
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import AtmoTransfer

/// The kept-alive connection of a pull from one source alone (`RangeConnection`): one
/// connection for every range, and each answer checked as AsyncHTTPClient's are.
@Suite(.serialized)
struct RangeConnectionTests {
    static let piece: Int64 = 64 * 1024

    /// Fetches `count` pieces from `offset` over `connection`; returns what the pieces'
    /// `take` got (index and bytes) and the fetch's result.
    static func fetch(
        _ server: RawRangeServer, _ url: String, over connection: RangeConnection, offset: Int64, count: Int = 4
    ) async -> (taken: [(Int, Data)], result: Result<[Bool], any Error>) {
        let taken = Mutex<[(Int, Data)]>([])
        let client = PeerClient(baseURL: url, http: HTTPClient.shared, logger: Logger(label: "range-connection-test"))
        let result: Result<[Bool], any Error>
        do {
            let answer = try await client.fetchPieces(
                of: server.entry, offset: offset, lengths: Array(repeating: Self.piece, count: count), on: connection.eventLoop,
                over: connection, received: { _ in }
            ) { index, chunks in
                var data = Data()
                for chunk in chunks { data.append(contentsOf: chunk.readableBytesView) }
                taken.withLock { $0.append((index, data)) }
                return true
            }
            result = .success(answer.taken)
        } catch {
            result = .failure(error)
        }
        return (taken.withLock { $0 }, result)
    }

    static func withServer(
        _ server: RawRangeServer, stallTimeout: TimeAmount = .seconds(30),
        _ body: @escaping @Sendable (String, RangeConnection) async throws -> Void
    ) async throws {
        let url = try await server.start()
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let connection = try #require(
            RangeConnection(baseURL: url, eventLoop: loop, connectTimeout: .seconds(5), stallTimeout: stallTimeout))
        do {
            try await withDeadline(30) { try await body(url, connection) }
        } catch {
            connection.close()
            await server.stop()
            throw error
        }
        connection.close()
        await server.stop()
    }

    static func code(_ result: Result<[Bool], any Error>) -> TransferError.Code? {
        guard case .failure(let error) = result else { return nil }
        return (error as? TransferError)?.code
    }

    @Test func rangesGoOverOneKeptConnection() async throws {
        let server = RawRangeServer()
        try await Self.withServer(server) { url, connection in
            for run in 0..<2 {
                let (taken, result) = await Self.fetch(server, url, over: connection, offset: Int64(run) * 4 * Self.piece)
                let took = try result.get()
                #expect(took == [true, true, true, true])
                for (index, data) in taken {
                    let start = (run * 4 + index) * Int(Self.piece)
                    #expect(data == server.bytes.subdata(in: start..<start + Int(Self.piece)))
                }
            }
            #expect(server.requests == 2)
            #expect(server.connections == 1)
        }
    }

    @Test func anAnswerWithConnectionCloseIsFollowedByANewConnection() async throws {
        let server = RawRangeServer { $0 == 0 ? .honestThenClose : .honest }
        try await Self.withServer(server) { url, connection in
            let first = await Self.fetch(server, url, over: connection, offset: 0)
            let firstTook = try first.result.get()
            #expect(firstTook.count == 4)
            let second = await Self.fetch(server, url, over: connection, offset: 4 * Self.piece)
            let secondTook = try second.result.get()
            #expect(secondTook.count == 4)
            #expect(server.connections == 2)
        }
    }

    @Test func aKeptConnectionThePeerClosesAsTheRequestArrivesIsReplacedOnce() async throws {
        // The second request finds the kept connection closing: asked again on a new one.
        let server = RawRangeServer { $0 == 1 ? .closeWithoutAnswer : .honest }
        try await Self.withServer(server) { url, connection in
            let first = await Self.fetch(server, url, over: connection, offset: 0)
            let firstTook = try first.result.get()
            #expect(firstTook == [true, true, true, true])
            let (taken, result) = await Self.fetch(server, url, over: connection, offset: 4 * Self.piece)
            let took = try result.get()
            #expect(took == [true, true, true, true])
            for (index, data) in taken {
                let start = (4 + index) * Int(Self.piece)
                #expect(data == server.bytes.subdata(in: start..<start + Int(Self.piece)))
            }
            #expect(server.requests == 3)
            #expect(server.connections == 2)
        }
    }

    @Test func aNewConnectionClosedWithoutAnAnswerIsNotAskedAgain() async throws {
        let server = RawRangeServer { $0 == 0 ? .closeWithoutAnswer : .honest }
        try await Self.withServer(server) { url, connection in
            let (taken, result) = await Self.fetch(server, url, over: connection, offset: 0)
            #expect(Self.code(result) == .peerUnreachable, "\(result)")
            #expect(taken.isEmpty)
            #expect(server.requests == 1)
        }
    }

    @Test func aLyingContentRangeTakesNoPiece() async throws {
        let server = RawRangeServer { _ in .lyingContentRange }
        try await Self.withServer(server) { url, connection in
            let (taken, result) = await Self.fetch(server, url, over: connection, offset: 0)
            #expect(Self.code(result) == .protocolViolation)
            #expect(taken.isEmpty)
        }
    }

    @Test func anotherFilesETagIsASourceChange() async throws {
        let server = RawRangeServer { _ in .otherETag }
        try await Self.withServer(server) { url, connection in
            let (taken, result) = await Self.fetch(server, url, over: connection, offset: 0)
            #expect(Self.code(result) == .sourceChanged)
            #expect(taken.isEmpty)
        }
    }

    @Test func aShortBodyKeepsTheWholePiecesBeforeTheCutAndFailsAsRetriable() async throws {
        // Two whole pieces and part of the third, then the connection closes.
        let server = RawRangeServer { $0 == 0 ? .shortThenClose(bytes: Int(2 * Self.piece) + 100) : .honest }
        try await Self.withServer(server) { url, connection in
            let (taken, result) = await Self.fetch(server, url, over: connection, offset: 0)
            #expect(Self.code(result) == .peerUnreachable, "\(result)")
            #expect(taken.map(\.0) == [0, 1])
            // The next range opens a new connection and succeeds.
            let again = await Self.fetch(server, url, over: connection, offset: 2 * Self.piece, count: 2)
            let took = try again.result.get()
            #expect(took == [true, true])
            #expect(server.connections == 2)
        }
    }

    @Test func aStalledPeerTimesOutWithinTheStallTimeout() async throws {
        let server = RawRangeServer { _ in .stall(bytes: Int(Self.piece) + 10) }
        try await Self.withServer(server, stallTimeout: .milliseconds(500)) { url, connection in
            let (taken, result) = await Self.fetch(server, url, over: connection, offset: 0)
            #expect(Self.code(result) == .timeout, "\(result)")
            #expect(taken.map(\.0) == [0])
        }
    }

    @Test func moreBytesThanTheRangeIsAProtocolViolation() async throws {
        let server = RawRangeServer { _ in .tooLong }
        try await Self.withServer(server) { url, connection in
            let (_, result) = await Self.fetch(server, url, over: connection, offset: 0)
            #expect(Self.code(result) == .protocolViolation, "\(result)")
        }
    }

    @Test func anAnswerThatIsNotHTTPIsAProtocolViolation() async throws {
        let server = RawRangeServer { _ in .notHTTP }
        try await Self.withServer(server) { url, connection in
            let (taken, result) = await Self.fetch(server, url, over: connection, offset: 0)
            #expect(Self.code(result) == .protocolViolation, "\(result)")
            #expect(taken.isEmpty)
        }
    }

    @Test func aCancelledFetchEndsAtOnceAndTheNextOneConnectsAgain() async throws {
        let server = RawRangeServer { $0 == 0 ? .stall(bytes: 10) : .honest }
        try await Self.withServer(server) { url, connection in
            let task = Task { await Self.fetch(server, url, over: connection, offset: 0) }
            while server.requests == 0 { try await Task.sleep(for: .milliseconds(10)) }
            task.cancel()
            let (_, result) = await task.value
            guard case .failure = result else {
                Issue.record("a cancelled fetch succeeded")
                return
            }
            let again = await Self.fetch(server, url, over: connection, offset: 0)
            let took = try again.result.get()
            #expect(took.count == 4)
        }
    }

    @Test func onlyPlainHTTPBaseURLsGetAConnection() {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        #expect(
            RangeConnection(baseURL: "https://example.com", eventLoop: loop, connectTimeout: .seconds(1), stallTimeout: .seconds(1)) == nil)
        let target = RangeConnection.Target(baseURL: "http://[::1]:8080")
        #expect(target?.host == "::1" && target?.port == 8080 && target?.hostHeader == "[::1]:8080")
        #expect(RangeConnection.Target(baseURL: "http://node.local")?.hostHeader == "node.local")
        #expect(RangeConnection.requestPath(of: "http://a:1/v1/models/download/x%20y.gguf") == "/v1/models/download/x%20y.gguf")
    }
}
