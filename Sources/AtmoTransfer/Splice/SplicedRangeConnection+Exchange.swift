import AtmoStore
import CAtmoSystem
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#endif

#if os(Linux)
/// One request and its answer on the connection's thread: the head through NIO's codec,
/// the body spliced into the file piece by piece.
extension SplicedRangeConnection {
    func attempt(_ run: Run, _ callbacks: Callbacks) throws -> Int {
        let (socket, pipe, capacity, reused) = try open()
        let codec = try HTTPHeadCodec()
        defer { codec.finish() }
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: run.path, headers: run.headers)
        head.headers.replaceOrAdd(name: "Host", value: target.hostHeader)
        let request = try codec.encode(head)
        if let error = request.withUnsafeReadableBytes({ BlockingSocket.sendAll(socket, $0) }) {
            if reused && (error == EPIPE || error == ECONNRESET) { throw ClosedBeforeAnswer() }
            throw socketError(error, while: "sending the request")
        }

        // The head, and the first bytes of the body read with it. Interim (1xx) heads before
        // it are legal HTTP/1.1 and skipped (at most `maximumInterimHeads`); a head longer than
        // the buffer goes to NIO, whose limit is larger. The whole head has the stall timeout
        // (each byte of a trickled head would renew the socket's own timeout).
        let headDeadline = NIODeadline.now() + .nanoseconds(Int64(stallTimeout * 1e9))
        defer { BlockingSocket.setTimeouts(socket, seconds: stallTimeout) }
        var scratch = [UInt8](repeating: 0, count: HTTPHeadCodec.maximumHeadBytes)
        var filled = 0
        var searched = 0
        var interimHeads = 0
        var received = false
        var answer: (head: HTTPResponseHead, end: Int)? = nil
        while answer == nil {
            if let end = scratch.withUnsafeBytes({ HTTPHeadCodec.headEnd(in: UnsafeRawBufferPointer(rebasing: $0[0..<filled]), from: searched) }) {
                let parsed: HTTPResponseHead?
                do {
                    parsed = try scratch.withUnsafeBytes { try codec.decode(UnsafeRawBufferPointer(rebasing: $0[0..<end])) }
                } catch {
                    throw TransferError(.protocolViolation, "\(peer) sent an answer head that does not parse (\(error))")
                }
                if let parsed {
                    answer = (parsed, end)
                    break
                }
                interimHeads += 1
                guard interimHeads <= Self.maximumInterimHeads else {
                    throw TransferError(.protocolViolation, "\(peer) sent more than \(Self.maximumInterimHeads) interim (1xx) answers")
                }
                scratch.replaceSubrange(0..<filled - end, with: scratch[end..<filled])
                (filled, searched) = (filled - end, 0)
                continue
            }
            searched = filled
            guard filled < scratch.count else { throw Unspliceable() }
            let left = headDeadline - NIODeadline.now()
            guard left > .zero else {
                throw TransferError(.timeout, "\(peer) sent no complete answer head within \(Int(stallTimeout)) s")
            }
            BlockingSocket.setTimeouts(socket, seconds: min(stallTimeout, Double(left.nanoseconds) / 1e9))
            let count = scratch.withUnsafeMutableBytes { BlockingSocket.receive(socket, into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }
            if count <= 0 {
                if reused && !received && (count == 0 || count == -Int(ECONNRESET)) { throw ClosedBeforeAnswer() }
                if count == 0 { throw TransferError(.peerUnreachable, "\(peer) closed the connection before its answer's head ended") }
                if NIODeadline.now() >= headDeadline {
                    throw TransferError(.timeout, "\(peer) sent no complete answer head within \(Int(stallTimeout)) s")
                }
                throw socketError(Int32(-count), while: "waiting for the answer")
            }
            received = true
            filled += count
        }
        let (response, headEnd) = (answer!.head, answer!.end)
        // A 416's JSON body says whether the peer does not hold the range yet (`not_held`):
        // NIO's path reads it (hostile review dec07f S7).
        if response.status.code == 416 { throw Unspliceable() }
        try callbacks.accept(response)
        let total = run.lengths.reduce(0, +)
        let lengths = response.headers["Content-Length"]
        guard response.headers["Transfer-Encoding"].isEmpty, lengths.count == 1, let length = Int64(lengths[0]) else {
            throw Unspliceable()
        }
        guard length == total else {
            throw TransferError(.protocolViolation, "\(peer) confirmed the range with a Content-Length of \(length), not \(total)")
        }
        var body = BodyReader(
            socket: socket, pipe: pipe, capacity: capacity, run: run, pace: RangeBodyPace(peer: peer, rangeLength: total, floor: floor),
            connection: self)
        body.pending = Array(scratch[headEnd..<filled])
        let written = try body.read(callbacks)
        // A run ended early leaves the rest of the body unread, and bytes past the body (a
        // peer's junk) would be read as the next answer: the connection goes in both cases.
        let closes = response.headers[canonicalForm: "Connection"].contains(where: { $0.lowercased() == "close" })
        if written < run.lengths.count || closes || !body.pending.isEmpty || BlockingSocket.hasUnreadBytes(socket) {
            closeAfterAnswer()
        } else {
            markAnswered()
        }
        return written
    }

    /// Interim (1xx) answer heads skipped before the answer's own.
    static let maximumInterimHeads = 8

    /// The error of a failed socket call, as the pull reports it.
    func socketError(_ error: Int32, while doing: String) -> Error {
        if isAborted { return CancellationError() }
        if error == EAGAIN || error == EWOULDBLOCK {
            return TransferError(.timeout, "\(peer) sent nothing for \(Int(stallTimeout)) s while \(doing)")
        }
        return TransferError(.peerUnreachable, "the connection to \(peer) failed while \(doing): \(String(cString: strerror(error)))")
    }
}

/// Reads one answer's body into the file, piece by piece, while `begin` lets it.
private struct BodyReader {
    let socket: Int32
    let pipe: (read: Int32, write: Int32)
    let capacity: Int
    let run: SplicedRangeConnection.Run
    var pace: RangeBodyPace
    let connection: SplicedRangeConnection
    /// Body bytes read with the head, not yet placed.
    var pending: [UInt8] = []
    let started = NIODeadline.now()

    var now: Double { Double((NIODeadline.now() - started).nanoseconds) / 1e9 }

    /// Returns how many pieces are in the file. Bytes read with the head past the range stay
    /// in `pending` (never written; the caller drops the connection).
    mutating func read(_ callbacks: SplicedRangeConnection.Callbacks) throws -> Int {
        var position = run.fileOffset
        for (index, length) in run.lengths.enumerated() {
            guard callbacks.begin(index) else { return index }
            try splice(length, at: position, callbacks)
            callbacks.finished(index)
            position += length
        }
        return run.lengths.count
    }

    /// Puts the next `length` bytes of the body into the file at `offset`.
    private mutating func splice(_ length: Int64, at offset: Int64, _ callbacks: SplicedRangeConnection.Callbacks) throws {
        var done: Int64 = 0
        if !pending.isEmpty {
            let count = Int(min(Int64(pending.count), length))
            // (An untyped closure: Swift 6.3.1 crashed emitting a `throws(StoreError)` one here.)
            try pending.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) throws -> Void in
                try FileIO.pwrite(run.fd, UnsafeRawBufferPointer(rebasing: bytes[0..<count]), offset: offset, path: run.filePath)
            }
            pending.removeFirst(count)
            try took(count, callbacks)
            done += Int64(count)
        }
        while done < length {
            let moved = atmo_splice_socket_to_file(
                socket, pipe.read, pipe.write, run.fd, offset + done, min(length - done, Int64(capacity)))
            if moved == -2 {
                let error = errno
                // A file system that takes no splice (no `splice_write`): NIO writes this pull.
                if error == EINVAL || error == EOPNOTSUPP || error == ENOSYS { throw SplicedRangeConnection.Unspliceable() }
                throw StoreError.posix(error, "write", path: run.filePath)
            }
            try check(moved)
            try took(Int(moved), callbacks)
            done += moved
        }
    }

    /// Fails on the end of the stream or a socket error (`moved` 0 or -1).
    private func check(_ moved: Int64) throws {
        if moved > 0 { return }
        if moved == 0 {
            if connection.isAborted { throw CancellationError() }
            throw TransferError(.peerUnreachable, "\(connection.peer) closed the connection after \(pace.bytes) of \(pace.rangeLength) bytes")
        }
        throw connection.socketError(errno, while: "sending the range")
    }

    private mutating func took(_ count: Int, _ callbacks: SplicedRangeConnection.Callbacks) throws {
        if let error = pace.admits(count) { throw error }
        if let error = pace.took(count, now: now) { throw error }
        callbacks.received(pace.bytes)
    }
}
#endif
