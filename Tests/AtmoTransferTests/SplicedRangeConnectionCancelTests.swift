#if os(Linux)
import AtmoProtocol
import AtmoTesting
import Foundation
import Glibc
import Synchronization
import Testing

@testable import AtmoTransfer

/// Ctrl-C (the pull's task cancelled) ends a spliced fetch at once in the phases where its
/// thread is blocked before any byte of the answer: the wait for the TCP handshake, and the
/// wait for the answer's head.
@Suite(.serialized)
struct SplicedRangeConnectionCancelTests {
    /// Far longer than the bound a cancelled fetch must end in: a fetch that waits the
    /// connect out cannot pass for one that ended at the cancel.
    static let connectTimeout = 120.0
    static let bound = Duration.seconds(60)

    static func connection(to listener: UnacceptingListener) throws -> SplicedRangeConnection {
        try #require(
            SplicedRangeConnection(
                baseURL: "http://127.0.0.1:\(listener.port)", connectTimeout: Self.connectTimeout, stallTimeout: Self.connectTimeout,
                floor: nil))
    }

    /// Starts a fetch of 4 pieces over `connection`, cancels it once it has been blocked for
    /// ~200 ms (it must not have ended by itself then), and returns its error and the time
    /// from the cancel to its end.
    static func cancelledFetch(over connection: SplicedRangeConnection) async throws -> (error: (any Error)?, afterCancel: Duration) {
        let entry = RawRangeServer().entry
        let ended = EndedFlag()
        let task = Task {
            defer { ended.value.store(true, ordering: .releasing) }
            return try await SplicedRangeConnectionTests.fetch(entry, over: connection, offset: 0)
        }
        try await Task.sleep(for: .milliseconds(200))
        // Ended already: the listener did not hold the connection, and the test proves nothing.
        let endedEarly = ended.value.load(ordering: .acquiring)
        #expect(!endedEarly, "the fetch ended before it was cancelled")
        let cancelled = ContinuousClock.now
        task.cancel()
        let outcome = try await task.value
        let afterCancel = ContinuousClock.now - cancelled
        guard case .failure(let error) = outcome.result else { return (nil, afterCancel) }
        return (error, afterCancel)
    }

    @Test func aFetchCancelledWhileConnectingEndsWithoutWaitingTheConnectOut() async throws {
        // The listener's queue is full: the handshake never completes (its SYNs are dropped).
        // Three fetches in turn on one connection: each connects anew, and is cancelled.
        let listener = try UnacceptingListener(filled: true)
        defer { listener.close() }
        let connection = try Self.connection(to: listener)
        defer { connection.close() }
        for _ in 0..<3 {
            let (error, afterCancel) = try await Self.cancelledFetch(over: connection)
            #expect(error is CancellationError, "\(String(describing: error))")
            #expect(afterCancel < Self.bound, "a cancelled connect ended \(afterCancel) after the cancel")
        }
    }

    @Test func aFetchCancelledWhileWaitingForTheHeadEndsAtOnce() async throws {
        // The handshake completes (the connection waits in the listener's queue), the request
        // goes out, and no answer ever comes.
        let listener = try UnacceptingListener(filled: false)
        defer { listener.close() }
        let connection = try Self.connection(to: listener)
        defer { connection.close() }
        let (error, afterCancel) = try await Self.cancelledFetch(over: connection)
        #expect(error is CancellationError, "\(String(describing: error))")
        #expect(afterCancel < Self.bound, "a cancelled head read ended \(afterCancel) after the cancel")
    }
}

private final class EndedFlag: Sendable {
    let value = Atomic<Bool>(false)
}

/// A loopback listener that never accepts. With a queue of one (`listen(fd, 0)`) that is
/// `filled`, a new connection's handshake never completes (Linux drops its SYNs); else a new
/// connection completes and waits in the queue, never read from.
final class UnacceptingListener: Sendable {
    let port: Int
    private let fds: Mutex<[Int32]>

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init(filled: Bool) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 0) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            let code = errno
            Glibc.close(fd)
            throw Failure(description: "bind/listen on 127.0.0.1: errno \(code)")
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        var fds = [fd]
        if filled {
            do {
                // The one connection the queue holds: it completes, and the queue is full.
                fds.append(try LoopbackSocket.connect(port: port))
            } catch {
                Glibc.close(fd)
                throw error
            }
        }
        self.fds = Mutex(fds)
    }

    func close() {
        fds.withLock { fds in
            for fd in fds { Glibc.close(fd) }
            fds = []
        }
    }
}
#endif
