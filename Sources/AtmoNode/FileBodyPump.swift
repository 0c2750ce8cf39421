import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOPosix
import Synchronization

/// One byte range of an open model file (or of verified pieces of a partial one), to be
/// sent as a response body.
struct FileBody: Sendable {
    /// Checked after every read to still be the file that was hashed (`ServedFile.isUnchanged`).
    let file: any ServedFile
    let offset: Int64
    let length: Int64
    /// Asks for a rescan when the file changed under the response.
    let onChange: @Sendable () -> Void
    /// The whole model's size, for the shaper's size classes (nil: unknown).
    var modelSize: Int64? = nil
    /// The dashboard's entry of this upload: told each chunk's bytes (an atomic add).
    var progress: ActiveUploads.Upload? = nil
    /// The `atmo_bytes_served_total` series of the requesting peer (nil: the pump's
    /// `peer="unknown"` one), told each chunk's bytes.
    var served: NodeMetrics.ServedCounter? = nil

    /// This body, of a model of `size` bytes.
    func ofModel(size: Int64) -> FileBody {
        var body = self
        body.modelSize = size
        return body
    }
}

/// Sends file bodies from the connection's event loop, the way nginx does with `sendfile on`.
///
/// A handler on every HTTP connection, after Hummingbird's HTTP/1 codec. The download route
/// writes the response head through Hummingbird, then hands the range to this handler and
/// waits; the handler sends the range chunk by chunk, the next one as soon as the channel is
/// writable again, all on the loop. A chunk costs no thread hand-off, so one core serves a
/// download at loopback speed while the other runs the client. The route then ends the
/// response through Hummingbird as usual.
///
/// How a chunk goes out (FileBodyPump+Chunks.swift):
/// - a complete model file's chunks are handed to the socket as file regions, below the
///   codec (`FileRegionPort`), so the kernel copies them from the page cache with
///   `sendfile` and no byte passes through the process; the body's last chunk alone is read
///   (`pread`) and checked once every earlier region has gone out;
/// - a partial file's verified pieces (`OpenPartialFile`), and any body once a read was
///   slow, are read with `pread` into a buffer and written, each read checked.
///
/// Memory: the channel turns unwritable after one chunk (its high-water mark is far below a
/// chunk), so a download holds about two chunks, and their storage is reused: a buffer the
/// socket is done with is unshared again, and the next `pread` fills it in place. A region
/// holds no buffer at all.
///
/// A read that is slow (the file is not in the page cache and the disk is working) would
/// hold up every other connection of that loop; once a read (or a region's `sendfile`) takes
/// longer than `slowReadLimit` (2 ms by default) while its thread read from the disk
/// (`LoopReadWatch`: a preempted thread is not a slow disk), the rest of that body is read
/// on the node's file threads instead.
///
/// A file that changes mid-body ends the response early (the client sees a short body,
/// never a complete body with other bytes): the change check (`ServedFile.isUnchanged`)
/// follows every read and every region sent, and the last chunk is read only after every
/// region before it has gone, so no change before the check can reach a complete body. A
/// closed connection or a cancelled task (server shutdown) ends it too; a client that takes
/// nothing is cut by the server's `SendStallGuard`.
///
/// Bandwidth: before each chunk the node's `BandwidthShaper` reserves its bytes (upload, to
/// the client's address); when it says wait, the next chunk is scheduled on the loop after
/// the wait (nothing sleeps, the loop serves the others meanwhile). Under a limit, chunks
/// shrink to about a quarter second's worth of the slowest rate, so the wire sees an even
/// flow and the stall guard never mistakes a wait for a stall.
final class FileBodyPump: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Bytes per read and per socket write.
    static let chunkSize = 512 * 1024
    /// Chunks one turn of the loop sends before it lets the loop's other connections run.
    static let chunksPerTurn = 4
    /// A read on the event loop slower than this moves the body's reads off the loop
    /// (`NodeConfiguration.slowFileReadMilliseconds`).
    let slowReadLimit: TimeAmount

    /// The node's shaper (nil: no limits).
    let shaper: BandwidthShaper?
    /// Told each chunk written (`atmo_bytes_served_total`); nil: not counted.
    let metrics: NodeMetrics?

    /// Whether complete files may go out as file regions (`NodeConfiguration.sendfile`).
    let sendfile: Bool

    init(slowReadLimit: TimeAmount, sendfile: Bool = true, shaper: BandwidthShaper? = nil, metrics: NodeMetrics? = nil) {
        self.slowReadLimit = slowReadLimit
        self.sendfile = sendfile
        self.shaper = shaper
        self.metrics = metrics
    }

    /// The body being sent, if any.
    struct Sending {
        let body: FileBody
        let readers: NIOThreadPool
        let done: EventLoopPromise<Int64>
        let ticket: Ticket
        var position: Int64
        var written: Int64 = 0
        var writesInFlight = 0
        /// Chunks go out as file regions (`sendfile`): a complete model file, read on the loop.
        var regions: Bool
        var readsOnLoop = true
        var readInFlight = false
        /// Bytes the shaper granted for the next chunk (it waits for them, or they are due).
        var granted: Int?
        var waitingForShaper = false
        var end: Int64 { body.offset + body.length }
    }

    var sending: Sending?
    /// A `pump` is queued on the loop (after a writability change).
    private var pumpQueued = false
    /// Up to two buffers of earlier chunks, refilled once the socket released them.
    var spares: [ByteBuffer] = []
    /// Where file regions enter the pipeline, below the HTTP codec (nil: none, every chunk
    /// is read and written as bytes).
    var regionPort: ChannelHandlerContext?

    /// Sends `body` on `channel` (after its response head) and returns the bytes written;
    /// throws `FileBodyError` if the file changed, a read failed, the connection closed or
    /// the task was cancelled part-way (a stalled client then holds nothing up).
    static func send(_ body: FileBody, on channel: any Channel, readers: NIOThreadPool) async throws -> Int64 {
        let ticket = Ticket()
        return try await withTaskCancellationHandler {
            try await channel.eventLoop.flatSubmit { () -> EventLoopFuture<Int64> in
                let done = channel.eventLoop.makePromise(of: Int64.self)
                do {
                    let context = try channel.pipeline.syncOperations.context(handlerType: FileBodyPump.self)
                    let pump = try channel.pipeline.syncOperations.handler(type: FileBodyPump.self)
                    let sending = Sending(
                        body: body, readers: readers, done: done, ticket: ticket, position: body.offset,
                        regions: body.file.servesRegions && pump.regionPort != nil)
                    pump.start(sending, context: context)
                } catch {
                    done.fail(FileBodyError(written: 0, underlying: error))
                }
                return done.futureResult
            }.get()
        } onCancel: {
            ticket.cancelled.withLock { $0 = true }
            channel.eventLoop.execute {
                try? channel.pipeline.syncOperations.handler(type: FileBodyPump.self).stop(ticket)
            }
        }
    }

    /// Names one body, so a cancellation stops that body and no later one; it also tells a
    /// body whose task was cancelled before it started not to start.
    final class Ticket: Sendable {
        let cancelled = Mutex(false)
    }

    private func start(_ body: Sending, context: ChannelHandlerContext) {
        guard sending == nil else {
            body.done.fail(FileBodyError(written: 0, underlying: ChannelError.inappropriateOperationForState))
            return
        }
        guard !body.ticket.cancelled.withLock({ $0 }) else {
            body.done.fail(FileBodyError(written: 0, underlying: CancellationError()))
            return
        }
        guard body.position < body.end else {
            body.done.succeed(0)
            return
        }
        sending = body
        pump(context: context)
    }

    private func stop(_ ticket: Ticket) {
        guard let current = sending, current.ticket === ticket else { return }
        finish(.failure(CancellationError()))
    }

    /// Sends chunks while the channel takes them, `chunksPerTurn` at most before it queues
    /// itself behind the loop's other work.
    func pump(context: ChannelHandlerContext) {
        var sent = 0
        while var state = sending, !state.readInFlight, !state.waitingForShaper, state.position < state.end, context.channel.isWritable {
            guard sent < Self.chunksPerTurn else {
                queuePump(context: context)
                return
            }
            // The last chunk of a region-sent body is read and checked once every region
            // before it has gone (their completions pump again).
            let last = state.end - state.position <= Int64(Self.chunkSize)
            if state.regions, last, state.writesInFlight > 0 { return }
            guard let count = shapedCount(&state, context: context) else { return }
            sent += 1
            if state.regions, state.position + Int64(count) < state.end, let port = regionPort {
                sendRegion(count: count, state: &state, port: port, context: context)
            } else if state.readsOnLoop {
                readOnLoop(count: count, state: &state, context: context)
            } else {
                readOffLoop(count: count, state: &state, context: context)
            }
        }
    }

    /// The bytes of the next chunk once the shaper lets them go; nil when it said wait (the
    /// pump is then scheduled for the end of the wait).
    func shapedCount(_ state: inout Sending, context: ChannelHandlerContext) -> Int? {
        let remaining = state.end - state.position
        guard let shaper else { return Int(min(Int64(Self.chunkSize), remaining)) }
        if let granted = state.granted {
            state.granted = nil
            return granted
        }
        let peer = context.channel.remoteAddress?.ipAddress ?? "unknown"
        let size = state.body.modelSize
        let preferred = shaper.writeSize(preferred: Self.chunkSize, direction: .up, peer: peer, modelSize: size, background: false)
        let count = Int(min(Int64(preferred), remaining))
        let wait = shaper.reserve(count, direction: .up, peer: peer, modelSize: size, background: false)
        guard wait > .zero else { return count }
        state.granted = count
        state.waitingForShaper = true
        sending = state
        let ticket = state.ticket
        let nanoseconds = wait.components.seconds * 1_000_000_000 + wait.components.attoseconds / 1_000_000_000
        context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) {
            guard self.sending?.ticket === ticket else { return }
            self.sending?.waitingForShaper = false
            self.pump(context: context)
        }
        return nil
    }

    func finish(_ result: Result<Int64, any Error>) {
        guard let state = sending else { return }
        sending = nil
        spares.removeAll()
        switch result {
        case .success(let bytes): state.done.succeed(bytes)
        case .failure(let error): state.done.fail(FileBodyError(written: state.written, underlying: error))
        }
    }

    /// Writability returns inside NIO's own write loop: pumping from there would let one
    /// fast client keep the loop to itself, so the pump is queued instead.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        context.fireChannelWritabilityChanged()
        if context.channel.isWritable { queuePump(context: context) }
    }

    func queuePump(context: ChannelHandlerContext) {
        guard !pumpQueued, sending != nil else { return }
        pumpQueued = true
        context.eventLoop.assumeIsolated().execute {
            self.pumpQueued = false
            self.pump(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(ChannelError.ioOnClosedChannel))
        context.fireChannelInactive()
    }

    /// Puts a `FileRegionPort` right after the HTTP/1 response encoder (none in a pipeline
    /// without one, or with `sendfile` off: every chunk is then written as bytes).
    func handlerAdded(context: ChannelHandlerContext) {
        guard sendfile else { return }
        let pipeline = context.pipeline.syncOperations
        guard let encoder = try? pipeline.handler(type: HTTPResponseEncoder.self) else { return }
        let port = FileRegionPort()
        guard (try? pipeline.addHandler(port, position: .after(encoder))) != nil else { return }
        regionPort = try? pipeline.context(handler: port)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish(.failure(ChannelError.ioOnClosedChannel))
        if let port = regionPort {
            regionPort = nil
            context.pipeline.syncOperations.removeHandler(context: port, promise: nil)
        }
    }
}

/// A file body that stopped part-way: how much of it reached the socket, and why.
struct FileBodyError: Error, CustomStringConvertible {
    let written: Int64
    let underlying: any Error
    var description: String { "file body stopped after \(written) bytes: \(underlying)" }
}
