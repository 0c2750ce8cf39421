#if os(Linux)
import AsyncHTTPClient
import AtmoProtocol
import AtmoTesting
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import AtmoTransfer

/// Ctrl-C (the pull's task cancelled) ends a range fetch over NIO (`RangeConnection`) at once
/// while its connection is still connecting, as on the splice path
/// (`SplicedRangeConnectionCancelTests`), instead of waiting the connect timeout out.
@Suite(.serialized)
struct RangeConnectionCancelTests {
    static let connectTimeout = 120.0
    static let bound = Duration.seconds(60)

    /// Starts `fetch`, cancels it once it has been blocked for ~200 ms (it must not have ended
    /// by itself then), and returns its error and the time from the cancel to its end.
    static func cancelled(_ fetch: @escaping @Sendable () async throws -> Void) async throws -> (error: (any Error)?, afterCancel: Duration) {
        let ended = Mutex(false)
        let task = Task { () -> (any Error)? in
            defer { ended.withLock { $0 = true } }
            do {
                try await fetch()
                return nil
            } catch {
                return error
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        let endedEarly = ended.withLock { $0 }
        #expect(!endedEarly, "the fetch ended before it was cancelled")
        let cancelled = ContinuousClock.now
        task.cancel()
        let error = await task.value
        return (error, ContinuousClock.now - cancelled)
    }

    @Test func aRangeCancelledWhileConnectingEndsWithoutWaitingTheConnectOut() async throws {
        let listener = try UnacceptingListener(filled: true)
        defer { listener.close() }
        let url = "http://127.0.0.1:\(listener.port)"
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let connection = try #require(
            RangeConnection(baseURL: url, eventLoop: loop, connectTimeout: .seconds(Int64(Self.connectTimeout)), stallTimeout: .seconds(60)))
        defer { connection.close() }
        let client = PeerClient(baseURL: url, http: HTTPClient.shared, logger: Logger(label: "range-connection-cancel-test"))
        let entry = RawRangeServer().entry
        for _ in 0..<3 {
            let (error, afterCancel) = try await Self.cancelled {
                _ = try await client.fetchChunks(of: entry, offset: 0, length: 64 * 1024, on: loop, over: connection, received: { _ in })
            }
            #expect(Self.isCancellation(error), "\(String(describing: error))")
            #expect(afterCancel < Self.bound, "a cancelled connect ended \(afterCancel) after the cancel")
        }
    }

    @Test func aRangeOverAsyncHTTPClientCancelledWhileConnectingEndsWithoutWaitingTheConnectOut() async throws {
        let listener = try UnacceptingListener(filled: true)
        defer { listener.close() }
        let url = "http://127.0.0.1:\(listener.port)"
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(Int64(Self.connectTimeout))
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let client = PeerClient(baseURL: url, http: http, logger: Logger(label: "range-connection-cancel-test"))
        let entry = RawRangeServer().entry
        for _ in 0..<3 {
            let (error, afterCancel) = try await Self.cancelled {
                _ = try await client.fetchChunks(of: entry, offset: 0, length: 64 * 1024, received: { _ in })
            }
            #expect(Self.isCancellation(error), "\(String(describing: error))")
            #expect(afterCancel < Self.bound, "a cancelled connect ended \(afterCancel) after the cancel")
        }
        // The pool's own connect goes on after the cancel: the listener's end refuses it, so
        // the shutdown need not wait the connect timeout out.
        listener.close()
        try await http.shutdown()
    }

    static func isCancellation(_ error: (any Error)?) -> Bool {
        error is CancellationError || (error as? TransferError)?.code == .cancelled
    }
}
#endif
