import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Synchronization

/// Collects the answer to one range request on the connection's event loop, as the bytes
/// arrive: the buffers are kept as they are (no copy), and nothing waits for a task between
/// two reads. (AsyncHTTPClient's async body hands over one buffer at a time and stops
/// reading until the consuming task has taken it: on two cores those task hops, one per
/// 64 KiB read, cost a pull from one source about half its speed.) A range is at most a few
/// MiB (`SwarmSession.blockSize`, `PullConfiguration.pieceSize`), so holding it whole is the
/// backpressure.
final class RangeBodyCollector: HTTPClientResponseDelegate {
    /// The answer: its head, and its body as it arrived.
    struct Answer: Sendable {
        var head: HTTPResponseHead
        /// The body, less the pieces `PieceStream.take` took.
        var chunks: [ByteBuffer]
        var bytes: Int64
        /// Per piece of a `PieceStream`: whether `take` took it (empty without one).
        var taken: [Bool] = []
    }

    /// Whole pieces handed over as each completes, on the event loop: a pull from one source
    /// writes them from there, so a range is neither held whole nor handed to a task first.
    /// `accept` checks the 206's head (range, ETag) before any piece goes; `take` gets each
    /// piece's index in the range and its bytes, and says whether it took them (if not, they
    /// stay in the answer, as without a stream).
    struct PieceStream: Sendable {
        var lengths: [Int64]
        var accept: @Sendable (HTTPResponseHead) -> Bool
        var take: @Sendable (Int, [ByteBuffer]) -> Bool
    }

    /// How the node's bandwidth shaper sees this answer.
    struct Shaping: Sendable {
        var shaper: BandwidthShaper
        var peer: String
        var modelSize: Int64
        var background: Bool
    }

    private struct State {
        var head: HTTPResponseHead?
        /// When the head arrived (seconds since the request went).
        var headSeconds: Double = 0
        /// The rules a 206's body keeps (length, parts, the throughput floor).
        var pace: RangeBodyPace
        var chunks: [ByteBuffer] = []
        var bytes: Int64 = 0
        /// Whether pieces go to `stream.take` (a 206 whose head `accept` passed).
        var streaming = false
        var piece = 0
        var pieceBytes: Int64 = 0
        var pieceChunks: [ByteBuffer] = []
        var taken: [Bool] = []
    }

    /// Body bytes a 206 may carry (the range asked for); any other answer is kept up to
    /// `otherBodyLimit` bytes (a JSON error), the rest dropped.
    let rangeLength: Int64
    let otherBodyLimit: Int
    let peer: String
    /// Hears the body bytes so far of a 206 (on the event loop: keep it cheap).
    let received: @Sendable (Int64) -> Void
    let shaping: Shaping?
    let stream: PieceStream?
    /// The time an answer that is not the range has, from its head, to send its body (at
    /// most `otherBodyLimit` bytes): the floor's window, else 30 s.
    let otherBodySeconds: Double
    private let started = ContinuousClock.now
    private let state: Mutex<State>

    init(
        rangeLength: Int64, otherBodyLimit: Int, peer: String, floor: (bytesPerSecond: Double, windowSeconds: Double)?,
        shaping: Shaping? = nil, stream: PieceStream? = nil, received: @escaping @Sendable (Int64) -> Void
    ) {
        self.shaping = shaping
        self.stream = stream
        self.rangeLength = rangeLength
        self.otherBodyLimit = otherBodyLimit
        self.peer = peer
        self.received = received
        let window = floor?.windowSeconds ?? 0
        otherBodySeconds = window > 0 ? window : 30
        state = Mutex(State(pace: RangeBodyPace(peer: peer, rangeLength: rangeLength, floor: floor)))
    }

    func didReceiveHead(task: HTTPClient.Task<Answer>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        headArrived(head)
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Answer>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        bodyArrived(buffer, on: task.eventLoop)
    }

    func didFinishRequest(task: HTTPClient.Task<Answer>) throws -> Answer {
        try finished()
    }

    /// The answer's head (from AsyncHTTPClient, or a `RangeConnection`).
    func headArrived(_ head: HTTPResponseHead) {
        let streaming = head.status == .partialContent && (stream?.accept(head) ?? false)
        let now = (ContinuousClock.now - started).seconds
        state.withLock {
            $0.head = head
            $0.headSeconds = now
            $0.streaming = streaming
        }
        // The time to the answer's head: a round trip plus the peer's turnaround.
        if let shaping { shaping.shaper.recordRoundTrip(ContinuousClock.now - started, peer: shaping.peer, direction: .down) }
    }

    /// A part of the body, on `eventLoop`; the next read waits for the returned future (the
    /// shaper's wait), and a failed one ends the answer.
    func bodyArrived(_ buffer: ByteBuffer, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let now = (ContinuousClock.now - started).seconds
        var completed: [(index: Int, chunks: [ByteBuffer])] = []
        let verdict = state.withLock { state -> (Int64?, (any Error)?) in
            guard state.head?.status == .partialContent else {
                // An error's body: enough of it to read its code; a longer one (a whole file
                // answered with 200) is not read on.
                guard state.bytes + Int64(buffer.readableBytes) <= Int64(otherBodyLimit) else { return (nil, StopReading()) }
                state.chunks.append(buffer)
                state.bytes += Int64(buffer.readableBytes)
                // Nor is one that trickles (each byte moves the stall clock): the answer
                // ends with what its head and body so far say.
                guard now - state.headSeconds < otherBodySeconds else { return (nil, StopReading()) }
                return (nil, nil)
            }
            if let error = state.pace.admits(buffer.readableBytes) { return (nil, error) }
            if state.streaming {
                completed = Self.cut(buffer, into: &state, lengths: stream?.lengths ?? [])
            } else {
                state.chunks.append(buffer)
            }
            state.bytes += Int64(buffer.readableBytes)
            // The floor's windows start at the head, as on the spliced path: the time to the
            // head (a connect, the peer's turnaround, a loaded machine) is not body time.
            if let error = state.pace.took(buffer.readableBytes, now: now - state.headSeconds) { return (nil, error) }
            return (state.bytes, nil)
        }
        if let error = verdict.1 { return eventLoop.makeFailedFuture(error) }
        guard let bytes = verdict.0 else { return eventLoop.makeSucceededVoidFuture() }
        received(bytes)
        if let stream, !completed.isEmpty { hand(completed, to: stream) }
        // The next read waits for the shaper (the socket's buffer fills, TCP slows the peer).
        guard let shaping else { return eventLoop.makeSucceededVoidFuture() }
        let wait = shaping.shaper.reserve(
            buffer.readableBytes, direction: .down, peer: shaping.peer, modelSize: shaping.modelSize, background: shaping.background)
        guard wait > .zero else { return eventLoop.makeSucceededVoidFuture() }
        let nanoseconds = wait.components.seconds * 1_000_000_000 + wait.components.attoseconds / 1_000_000_000
        return eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {}.futureResult
    }

    /// Body bytes received so far.
    var bytesSoFar: Int64 { state.withLock { $0.bytes } }

    /// Ends an answer that is not the range once its head and the start of its body are in.
    struct StopReading: Error {}

    /// The answer so far when it is not the range asked for (its body cut after
    /// `otherBodyLimit` bytes): what a failed request still tells.
    var answerOtherThanRange: Answer? {
        state.withLock { state in
            guard let head = state.head, head.status != .partialContent else { return nil }
            return Answer(head: head, chunks: state.chunks, bytes: state.bytes)
        }
    }

    /// The whole answer, once its end arrived.
    func finished() throws -> Answer {
        try state.withLock { state in
            guard let head = state.head else { throw TransferError(.peerUnreachable, "\(peer) closed the connection before answering") }
            return Answer(head: head, chunks: state.chunks + state.pieceChunks, bytes: state.bytes, taken: state.taken)
        }
    }
}

extension RangeBodyCollector {
    /// Adds `buffer` to the piece being filled; returns the pieces it completed (slices: no
    /// byte is copied).
    private static func cut(_ buffer: ByteBuffer, into state: inout State, lengths: [Int64]) -> [(index: Int, chunks: [ByteBuffer])] {
        var rest = buffer
        var completed: [(index: Int, chunks: [ByteBuffer])] = []
        while rest.readableBytes > 0, state.piece < lengths.count {
            let wanted = lengths[state.piece] - state.pieceBytes
            let count = Int(min(wanted, Int64(rest.readableBytes)))
            state.pieceChunks.append(rest.readSlice(length: count)!)
            state.pieceBytes += Int64(count)
            if state.pieceBytes == lengths[state.piece] {
                completed.append((state.piece, state.pieceChunks))
                state.pieceChunks = []
                state.pieceBytes = 0
                state.piece += 1
            }
        }
        return completed
    }

    /// Offers completed pieces to `take`, outside the lock; those it leaves stay in the answer.
    private func hand(_ completed: [(index: Int, chunks: [ByteBuffer])], to stream: PieceStream) {
        for (index, chunks) in completed {
            let took = stream.take(index, chunks)
            state.withLock { state in
                state.taken.append(took)
                if !took { state.chunks += chunks }
            }
        }
    }
}
