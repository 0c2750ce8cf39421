#if os(Linux)
import AsyncHTTPClient
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Glibc
import Logging
import NIOCore
import Synchronization
import Testing

@testable import AtmoTransfer

/// The spliced receive path of a pull from one whole-file source (`SplicedRangeConnection`):
/// the same wire cases as `RangeConnectionTests`, each answer checked as NIO's path checks
/// it, the bytes landing in a real file.
@Suite(.serialized)
struct SplicedRangeConnectionTests {
    static let piece: Int64 = 64 * 1024

    struct Outcome {
        var result: Result<Int, any Error>
        /// Pieces that went into the file whole, in order.
        var finished: [Int]
        /// The file after the fetch.
        var file: Data
        var code: TransferError.Code? {
            guard case .failure(let error) = result else { return nil }
            return (error as? TransferError)?.code
        }
    }

    /// Fetches `count` pieces from `offset` into a fresh file of the server's size;
    /// `splices(index)` says whether the run goes on with piece `index`.
    static func fetch(
        _ server: RawRangeServer, over connection: SplicedRangeConnection, offset: Int64, count: Int = 4, fileMode: Int32 = O_RDWR,
        splices: @escaping @Sendable (Int) -> Bool = { _ in true }
    ) async throws -> Outcome {
        try await fetch(server.entry, over: connection, offset: offset, count: count, fileMode: fileMode, splices: splices)
    }

    /// `fetch` of `entry`'s file from whatever server `connection` talks to.
    static func fetch(
        _ entry: ModelEntry, over connection: SplicedRangeConnection, offset: Int64, count: Int = 4, fileMode: Int32 = O_RDWR,
        splices: @escaping @Sendable (Int) -> Bool = { _ in true }
    ) async throws -> Outcome {
        try await withTemporaryDirectory { directory in
            let path = directory.sub("partial")
            _ = FileManager.default.createFile(atPath: path, contents: Data(count: Int(entry.sizeBytes)))
            let fd = open(path, fileMode)
            defer { close(fd) }
            let client = PeerClient(baseURL: "http://unused", http: HTTPClient.shared, logger: Logger(label: "spliced-test"))
            let finished = Mutex<[Int]>([])
            let length = Int64(count) * Self.piece
            let run = SplicedRangeConnection.Run(
                path: "/v1/models/download/\(entry.modelID)", headers: PeerClient.rangeHeaders(of: entry, offset: offset, length: length),
                fd: fd, filePath: path, fileOffset: offset, lengths: Array(repeating: Self.piece, count: count))
            let callbacks = SplicedRangeConnection.Callbacks(
                accept: { head in
                    try client.checkPieceResponse(status: head.status.code, headers: head.headers, entry: entry, offset: offset, length: length)
                },
                begin: splices, finished: { index in finished.withLock { $0.append(index) } }, received: { _ in })
            let result: Result<Int, any Error>
            do {
                result = .success(try await connection.fetch(run, callbacks))
            } catch {
                result = .failure(error)
            }
            return Outcome(result: result, finished: finished.withLock { $0 }, file: try Data(contentsOf: URL(fileURLWithPath: path)))
        }
    }

    static func withServer(
        _ server: RawRangeServer, stallTimeout: Double = 30, _ body: @escaping @Sendable (SplicedRangeConnection) async throws -> Void
    ) async throws {
        let url = try await server.start()
        let connection = try #require(SplicedRangeConnection(baseURL: url, connectTimeout: 5, stallTimeout: stallTimeout, floor: nil))
        do {
            try await withDeadline(30) { try await body(connection) }
        } catch {
            connection.close()
            await server.stop()
            throw error
        }
        connection.close()
        await server.stop()
    }

    static func slice(_ server: RawRangeServer, pieces: Range<Int>) -> Data {
        server.bytes.subdata(in: pieces.lowerBound * Int(piece)..<pieces.upperBound * Int(piece))
    }

    @Test func rangesGoIntoTheFileOverOneKeptConnection() async throws {
        let server = RawRangeServer()
        try await Self.withServer(server) { connection in
            for run in 0..<2 {
                let outcome = try await Self.fetch(server, over: connection, offset: Int64(run) * 4 * Self.piece)
                #expect(try outcome.result.get() == 4)
                #expect(outcome.finished == [0, 1, 2, 3])
                let start = run * 4 * Int(Self.piece)
                #expect(outcome.file.subdata(in: start..<start + 4 * Int(Self.piece)) == Self.slice(server, pieces: run * 4..<run * 4 + 4))
            }
            #expect(server.requests == 2)
            #expect(server.connections == 1)
        }
    }

    @Test func aPieceItMayNotWriteEndsTheRunAndItsConnection() async throws {
        let server = RawRangeServer()
        try await Self.withServer(server) { connection in
            let outcome = try await Self.fetch(server, over: connection, offset: 0, splices: { $0 < 2 })
            #expect(try outcome.result.get() == 2)
            #expect(outcome.finished == [0, 1])
            #expect(outcome.file.subdata(in: 0..<2 * Int(Self.piece)) == Self.slice(server, pieces: 0..<2))
            #expect(outcome.file.subdata(in: 2 * Int(Self.piece)..<4 * Int(Self.piece)) == Data(count: 2 * Int(Self.piece)))
            // The rest of that body was never read: the next run has a new connection.
            let next = try await Self.fetch(server, over: connection, offset: 4 * Self.piece)
            #expect(try next.result.get() == 4)
            #expect(server.connections == 2)
        }
    }

    @Test func anAnswerWithConnectionCloseIsFollowedByANewConnection() async throws {
        let server = RawRangeServer { $0 == 0 ? .honestThenClose : .honest }
        try await Self.withServer(server) { connection in
            _ = try await Self.fetch(server, over: connection, offset: 0).result.get()
            _ = try await Self.fetch(server, over: connection, offset: 4 * Self.piece).result.get()
            #expect(server.connections == 2)
        }
    }

    @Test func aKeptConnectionThePeerClosesAsTheRequestArrivesIsReplacedOnce() async throws {
        let server = RawRangeServer { $0 == 1 ? .closeWithoutAnswer : .honest }
        try await Self.withServer(server) { connection in
            _ = try await Self.fetch(server, over: connection, offset: 0).result.get()
            let outcome = try await Self.fetch(server, over: connection, offset: 4 * Self.piece)
            _ = try outcome.result.get()
            #expect(outcome.finished == [0, 1, 2, 3])
            #expect(outcome.file.subdata(in: 4 * Int(Self.piece)..<8 * Int(Self.piece)) == Self.slice(server, pieces: 4..<8))
            #expect(server.requests == 3)
            #expect(server.connections == 2)
        }
    }

    @Test func aNewConnectionClosedWithoutAnAnswerIsNotAskedAgain() async throws {
        let server = RawRangeServer { $0 == 0 ? .closeWithoutAnswer : .honest }
        try await Self.withServer(server) { connection in
            let outcome = try await Self.fetch(server, over: connection, offset: 0)
            #expect(outcome.code == .peerUnreachable, "\(outcome.result)")
            #expect(outcome.finished.isEmpty)
            #expect(server.requests == 1)
        }
    }

    @Test func aLyingContentRangeOrAnotherFilesETagWritesNothing() async throws {
        for (answer, code) in [(RawRangeServer.Answer.lyingContentRange, TransferError.Code.protocolViolation), (.otherETag, .sourceChanged)] {
            let server = RawRangeServer { _ in answer }
            try await Self.withServer(server) { connection in
                let outcome = try await Self.fetch(server, over: connection, offset: 0)
                #expect(outcome.code == code, "\(outcome.result)")
                #expect(outcome.finished.isEmpty)
                #expect(outcome.file == Data(count: server.bytes.count))
            }
        }
    }

    @Test func aShortBodyKeepsTheWholePiecesBeforeTheCutAndFailsAsRetriable() async throws {
        let server = RawRangeServer { $0 == 0 ? .shortThenClose(bytes: Int(2 * Self.piece) + 100) : .honest }
        try await Self.withServer(server) { connection in
            let outcome = try await Self.fetch(server, over: connection, offset: 0)
            #expect(outcome.code == .peerUnreachable, "\(outcome.result)")
            #expect(outcome.finished == [0, 1])
            let again = try await Self.fetch(server, over: connection, offset: 2 * Self.piece, count: 2)
            _ = try again.result.get()
            #expect(again.finished == [0, 1])
            #expect(server.connections == 2)
        }
    }

    @Test func aStalledPeerTimesOutWithinTheStallTimeout() async throws {
        let server = RawRangeServer { _ in .stall(bytes: Int(Self.piece) + 10) }
        try await Self.withServer(server, stallTimeout: 0.5) { connection in
            let outcome = try await Self.fetch(server, over: connection, offset: 0)
            #expect(outcome.code == .timeout, "\(outcome.result)")
            #expect(outcome.finished == [0])
        }
    }

    @Test func moreBytesThanTheRangeOrAnAnswerThatIsNotHTTPIsAProtocolViolation() async throws {
        for answer in [RawRangeServer.Answer.tooLong, .notHTTP] {
            let server = RawRangeServer { _ in answer }
            try await Self.withServer(server) { connection in
                let outcome = try await Self.fetch(server, over: connection, offset: 0)
                #expect(outcome.code == .protocolViolation, "\(answer): \(outcome.result)")
                #expect(outcome.finished.isEmpty)
            }
        }
    }

    @Test func interimAnswersBeforeTheRangeAreSkipped() async throws {
        // Legal HTTP/1.1 (a proxy in front of a peer may send them); hostile review dec07f S1.
        let server = RawRangeServer { _ in .interimThenHonest }
        try await Self.withServer(server) { connection in
            let outcome = try await Self.fetch(server, over: connection, offset: 0)
            #expect(try outcome.result.get() == 4)
            #expect(outcome.file.subdata(in: 0..<4 * Int(Self.piece)) == Self.slice(server, pieces: 0..<4))
        }
    }

    @Test func aHeadLongerThanItsBufferIsLeftToNIO() async throws {
        // NIO's own limit is 80 KiB; hostile review dec07f S2.
        let server = RawRangeServer { _ in .honestWithHeader(bytes: 20_000) }
        try await Self.withServer(server) { connection in
            let outcome = try await Self.fetch(server, over: connection, offset: 0)
            guard case .failure(let error) = outcome.result else {
                Issue.record("a 20 KB head was taken")
                return
            }
            #expect(error is SplicedRangeConnection.Unspliceable, "\(error)")
        }
    }

    @Test func aTrickledHeadHasTheStallTimeoutInAll() async throws {
        // A byte every 0.2 s renews the socket's own timeout for ever; the head as a whole
        // has the stall timeout (hostile review dec07f S4).
        let server = RawRangeServer { _ in .trickledHead(every: .milliseconds(200)) }
        try await Self.withServer(server, stallTimeout: 1) { connection in
            let started = ContinuousClock.now
            let outcome = try await Self.fetch(server, over: connection, offset: 0)
            #expect(outcome.code == .timeout, "\(outcome.result)")
            #expect(ContinuousClock.now - started < .seconds(20))
        }
    }

    @Test func junkAfterABodyIsNotTakenForTheNextAnswer() async throws {
        // The body is whole; the junk after it closes that connection (hostile review dec07f S5).
        let server = RawRangeServer { $0 == 0 ? .honestThenJunk : .honest }
        try await Self.withServer(server) { connection in
            let first = try await Self.fetch(server, over: connection, offset: 0)
            #expect(try first.result.get() == 4)
            #expect(first.file.subdata(in: 0..<4 * Int(Self.piece)) == Self.slice(server, pieces: 0..<4))
            let second = try await Self.fetch(server, over: connection, offset: 4 * Self.piece)
            #expect(try second.result.get() == 4)
            #expect(server.connections == 2)
        }
    }

    @Test func aCancelledFetchEndsAtOnceAndTheNextOneConnectsAgain() async throws {
        let server = RawRangeServer { $0 == 0 ? .stall(bytes: 10) : .honest }
        try await Self.withServer(server) { connection in
            let task = Task { try await Self.fetch(server, over: connection, offset: 0) }
            while server.requests == 0 { try await Task.sleep(for: .milliseconds(10)) }
            task.cancel()
            let outcome = try await task.value
            guard case .failure(let error) = outcome.result else {
                Issue.record("a cancelled fetch succeeded")
                return
            }
            #expect(error is CancellationError, "\(error)")
            let again = try await Self.fetch(server, over: connection, offset: 0)
            _ = try again.result.get()
            #expect(again.finished == [0, 1, 2, 3])
            #expect(server.connections == 2)
        }
    }

    @Test func aFileItCannotWriteIsTheNodesErrorNotThePeers() async throws {
        let server = RawRangeServer()
        try await Self.withServer(server) { connection in
            let outcome = try await Self.fetch(server, over: connection, offset: 0, fileMode: O_RDONLY)
            guard case .failure(let error) = outcome.result else {
                Issue.record("a fetch into a read-only file succeeded")
                return
            }
            #expect(error is StoreError, "\(error)")
            #expect(outcome.finished.isEmpty)
        }
    }

    @Test func aFileThatTakesNoSpliceIsLeftToNIO() async throws {
        // splice(2) refuses a file opened to append (EINVAL), as a file system without
        // `splice_write` does: the range goes to NIO instead of failing the pull.
        let server = RawRangeServer()
        try await Self.withServer(server) { connection in
            let outcome = try await Self.fetch(server, over: connection, offset: 0, fileMode: O_RDWR | O_APPEND)
            guard case .failure(let error) = outcome.result else {
                Issue.record("a fetch into an append-only file succeeded")
                return
            }
            #expect(error is SplicedRangeConnection.Unspliceable, "\(error)")
            #expect(outcome.finished.isEmpty)
        }
    }

    /// A fetch of one piece from a `HostileBodyServer` answering `answer`.
    static func fetchOnePiece(answering answer: HostileBodyServer.Answer) async throws -> Outcome {
        let hostile = HostileBodyServer(answer: answer)
        let url = try await hostile.start()
        defer { Task { await hostile.stop() } }
        let connection = try #require(SplicedRangeConnection(baseURL: url, connectTimeout: 5, stallTimeout: 30, floor: nil))
        defer { connection.close() }
        return try await withDeadline(10) { try await Self.fetch(hostile.entry, over: connection, offset: 0, count: 1) }
    }

    @Test func aChunkedAnswerIsLeftToNIO() async throws {
        let outcome = try await Self.fetchOnePiece(answering: .chunked(chunkBytes: 4096))
        guard case .failure(let error) = outcome.result else {
            Issue.record("a chunked answer was spliced")
            return
        }
        #expect(error is SplicedRangeConnection.Unspliceable, "\(error)")
    }

    @Test func anErrorAnswersBodyIsNeverWaitedFor() async throws {
        // A 404 whose body never comes: the status says it all, at once (within the deadline,
        // far under the stall timeout).
        let outcome = try await Self.fetchOnePiece(answering: .silentError(status: 404))
        #expect(outcome.code == .notOffered, "\(outcome.result)")
    }

    @Test func onlyPlainHTTPBaseURLsGetOne() {
        #expect(SplicedRangeConnection(baseURL: "https://example.com", connectTimeout: 1, stallTimeout: 1, floor: nil) == nil)
    }
}
#endif
