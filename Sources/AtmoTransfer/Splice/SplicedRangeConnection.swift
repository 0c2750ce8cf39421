import AtmoStore
import CAtmoSystem
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One plain-HTTP connection to a whole-file peer whose range answers go from the socket
/// straight into the partial file with `splice(2)` (socket, pipe, file): no byte is copied
/// through the process. Used by a pull from one whole-file source while piece checks are
/// deferred (the whole-file hash covers every byte, read back from the partial).
///
/// Why: a pull's receive path cost about 1.6 CPU-seconds per GiB on loopback against
/// curl's 0.8: the kernel's copy into the process, NIO's read path, and the copy back into
/// the file. Spliced, the bytes cross once, kernel to page cache (docs/BENCHMARKS.md,
/// figure 5).
///
/// The exchange is blocking, on the connection's own thread: the request head is encoded
/// and the answer's head parsed by NIO's codec (`HTTPHeadCodec`); the head must be the
/// range asked for (`accept`, the same checks as every range answer) with a Content-Length
/// of it, else the answer is refused (or, without a Content-Length, handed back as
/// `Unspliceable` for NIO to fetch). The body keeps the same rules as on NIO
/// (`RangeBodyPace`). Each piece is claimed as it begins (`begin`); one that may not be
/// written unchecked ends the run there, the connection dropped with the rest unread. Silence longer than the stall timeout fails with `.timeout` (the
/// socket's own timeouts); cancelling the task shuts the socket down, also one still
/// connecting. A kept connection the peer closed while idle is replaced once, as
/// `RangeConnection` does. Linux only.
final class SplicedRangeConnection: Sendable {
    /// One range request: `path` (percent-encoded), its headers, and where its pieces go.
    struct Run: Sendable {
        var path: String
        var headers: HTTPHeaders
        /// The partial file and the offset of the range's first byte in it.
        var fd: Int32
        var filePath: String
        var fileOffset: Int64
        /// The pieces of the range, back to back.
        var lengths: [Int64]
    }

    /// What the exchange asks its caller, on the connection's thread.
    struct Callbacks: Sendable {
        /// Throws when the answer's head is not the range asked for.
        var accept: @Sendable (HTTPResponseHead) throws -> Void
        /// Whether piece `index` goes into the file unchecked (claimed); false ends the run
        /// before it (checks began, or the piece is no longer wanted).
        var begin: @Sendable (Int) -> Bool
        /// Piece `index`, begun as spliced, is all in the file.
        var finished: @Sendable (Int) -> Void
        /// Body bytes of the run received so far.
        var received: @Sendable (Int64) -> Void
    }

    /// An answer the splice path does not take (no Content-Length: a chunked body; a head
    /// longer than `HTTPHeadCodec.maximumHeadBytes`; a 416), or a destination file system that
    /// takes no splice: the caller fetches the range through NIO instead.
    struct Unspliceable: Error {}

    /// The kept connection closed before any byte of the answer.
    struct ClosedBeforeAnswer: Error {}

    /// One fetch: whether its task was cancelled (before or while it ran).
    private final class Ticket: Sendable {
        let cancelled = Atomic<Bool>(false)
    }

    private struct Connection {
        var socket: Int32 = -1
        /// A socket waiting for its handshake (`BlockingSocket.connect` closes or returns it).
        var connecting: Int32 = -1
        var pipe: (read: Int32, write: Int32) = (-1, -1)
        var pipeCapacity = 64 * 1024
        /// Whether an answer came on this socket (so a close before the next is an idle close).
        var answered = false
        /// The exchange running now, and whether it was cancelled.
        var running: Ticket?
        var aborted = false
    }

    let target: RangeConnection.Target
    let connectTimeout: Double
    let stallTimeout: Double
    let floor: (bytesPerSecond: Double, windowSeconds: Double)?
    private let thread: NIOThreadPool
    private let connection = Mutex(Connection())

    /// Bytes per `splice`: the pipe's capacity (1 MiB asked; 64 KiB if the kernel refuses).
    static let pipeBytes = 1024 * 1024

    /// Nil unless `baseURL` is plain `http://` and the system splices (Linux).
    init?(
        baseURL: String, connectTimeout: Double, stallTimeout: Double, floor: (bytesPerSecond: Double, windowSeconds: Double)?
    ) {
        #if os(Linux)
        guard let target = RangeConnection.Target(baseURL: baseURL) else { return nil }
        self.target = target
        self.connectTimeout = connectTimeout
        self.stallTimeout = stallTimeout
        self.floor = floor
        thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        #else
        return nil
        #endif
    }

    var peer: String { target.hostHeader }
}

#if os(Linux)
extension SplicedRangeConnection {
    /// GETs `run`'s range and puts its pieces in the file while `begin` lets it. Returns how
    /// many pieces (from the first) are in the file. Throws `TransferError`s, `StoreError`s
    /// (the file), `CancellationError`, `Unspliceable`, or `accept`'s error.
    /// Fetches run one after another on the connection's thread: a second worker's run
    /// waits for the one before it (a cancelled one that waited never starts).
    func fetch(_ run: Run, _ callbacks: Callbacks) async throws -> Int {
        try Task.checkCancellation()
        let ticket = Ticket()
        return try await withTaskCancellationHandler {
            try await thread.runIfActive {
                try self.begin(ticket)
                defer { self.connection.withLock { $0.running = nil } }
                return try self.exchange(run, callbacks)
            }
        } onCancel: {
            self.abort(ticket)
        }
    }

    /// Closes the connection and its thread (every worker is done): no fetch may be running,
    /// since its socket would be closed under it.
    func close() {
        dropSocket()
        thread.shutdownGracefully { _ in }
    }

    /// On the connection's thread, as a fetch starts: it is the one running now.
    private func begin(_ ticket: Ticket) throws {
        let cancelled = connection.withLock { state -> Bool in
            state.running = ticket
            state.aborted = ticket.cancelled.load(ordering: .acquiring)
            return state.aborted
        }
        if cancelled { throw CancellationError() }
    }

    private func abort(_ ticket: Ticket) {
        ticket.cancelled.store(true, ordering: .releasing)
        connection.withLock { state in
            guard state.running === ticket else { return }
            state.aborted = true
            // A shut-down socket ends a blocked call on it at once: a connect's wait for the
            // handshake (else up to the connect timeout), a head's, a splice's.
            for fd in [state.socket, state.connecting] where fd >= 0 { _ = shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    var isAborted: Bool { connection.withLock { $0.aborted } }

    /// The socket answered a whole request: a close before the next answer is an idle close.
    func markAnswered() { connection.withLock { $0.answered = true } }

    /// The peer said it closes the connection after this answer.
    func closeAfterAnswer() { dropSocket() }

    private func dropSocket() {
        connection.withLock { state in
            for fd in [state.socket, state.pipe.read, state.pipe.write] where fd >= 0 { Glibc.close(fd) }
            state.socket = -1
            state.pipe = (-1, -1)
            state.answered = false
        }
    }

    /// One exchange; a kept socket closed as the request went out is replaced once.
    private func exchange(_ run: Run, _ callbacks: Callbacks) throws -> Int {
        do {
            return try attempt(run, callbacks)
        } catch is ClosedBeforeAnswer {
            dropSocket()
        } catch {
            dropSocket()
            throw isAborted ? CancellationError() : error
        }
        do {
            return try attempt(run, callbacks)
        } catch is ClosedBeforeAnswer {
            dropSocket()
            throw TransferError(.peerUnreachable, "\(peer) closed the connection before answering")
        } catch {
            dropSocket()
            throw isAborted ? CancellationError() : error
        }
    }

    /// The socket and pipe to use: the kept ones, else new ones.
    func open() throws -> (socket: Int32, pipe: (read: Int32, write: Int32), capacity: Int, reused: Bool) {
        let kept = connection.withLock { state in
            state.socket >= 0 ? (state.socket, state.pipe, state.pipeCapacity, state.answered) : nil
        }
        if let kept { return kept }
        let socket = try BlockingSocket.connect(
            host: target.host, port: target.port, timeout: connectTimeout, stallTimeout: stallTimeout, peer: peer,
            watch: { fd in
                self.connection.withLock { state in
                    guard !state.aborted else { return false }
                    state.connecting = fd
                    return true
                }
            },
            unwatch: { self.connection.withLock { $0.connecting = -1 } })
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            let error = errno
            Glibc.close(socket)
            throw TransferError(.peerUnreachable, "cannot open a pipe for \(peer)'s answers: \(String(cString: strerror(error)))")
        }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let capacity = Int(max(atmo_set_pipe_size(fds[1], Int32(Self.pipeBytes)), 64 * 1024))
        let cancelled = connection.withLock { state -> Bool in
            state.socket = socket
            state.pipe = (fds[0], fds[1])
            state.pipeCapacity = capacity
            state.answered = false
            return state.aborted
        }
        if cancelled { throw CancellationError() }
        return (socket, (fds[0], fds[1]), capacity, false)
    }
}
#else
extension SplicedRangeConnection {
    /// Never reached: there is no connection (`init?` gives nil) where nothing splices.
    func fetch(_ run: Run, _ callbacks: Callbacks) async throws -> Int { throw Unspliceable() }

    func close() {}
}
#endif
