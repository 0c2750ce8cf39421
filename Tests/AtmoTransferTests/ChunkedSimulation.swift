import AtmoProtocol
import Foundation

@testable import AtmoTransfer

/// A `ChunkSender` and a `ChunkReceiver` wired through a simulated link: each direction is a
/// FIFO of `bytesPerSecond` with a one-way delay. Time is simulated (microseconds inside,
/// milliseconds for the state machines), so results are deterministic and no test waits.
struct ChunkedSimulation {
    /// What happens to one transmission of a chunk.
    enum Fate { case deliver, drop, corrupt }

    struct Result {
        /// When the receiver completed / the sender finished (simulated ms from the start).
        var completedAtMs: Double?
        var finishedAtMs: Double?
        var senderCancel: ModelTransferCancel?
        var senderCancelledAtMs: Double?
        var receiverCancel: ModelTransferCancel?
        var deliveredBytes: Int64 = 0
        /// Whether every delivery was in order and held the file's bytes.
        var deliveriesCorrect = true
        var maxChunksInFlight = 0
        var maxBytesInFlight: Int64 = 0
        var finalWindowBytes: Int64 = 0
        var sender: ChunkSender.Statistics
        var receiver: ChunkReceiver.Statistics

        /// Payload bytes per second over the transfer.
        func throughput(bytes: Int64) -> Double {
            guard let completedAtMs, completedAtMs > 0 else { return 0 }
            return Double(bytes) / (completedAtMs / 1000)
        }
    }

    private enum Event {
        case chunk(ReceivedChunk)
        case ack(ModelTransferChunkAck)
        case cancelToReceiver(ModelTransferCancel)
        case cancelToSender(ModelTransferCancel)
        case senderTick(Int64)
        case receiverTick(Int64)
    }

    var sender: ChunkSender
    var receiver: ChunkReceiver
    let bytesPerSecond: Double
    let oneWayDelayMicros: Int64
    /// The fate of transmission `n` (1-based) of chunk `index`.
    var fate: (_ index: Int64, _ transmission: Int) -> Fate = { _, _ in .deliver }
    /// Nothing after this (simulated) time.
    var limitMicros: Int64 = 3_600_000_000

    private var queue = EventQueue<Event>()
    private var forwardFreeMicros: Double = 0
    private var backwardFreeMicros: Double = 0
    private var transmissions: [Int64: Int] = [:]
    private var senderTickAt: Int64?
    private var receiverTickAt: Int64?

    init(sender: ChunkSender, receiver: ChunkReceiver, bytesPerSecond: Double, oneWayDelayMs: Double) {
        self.sender = sender
        self.receiver = receiver
        self.bytesPerSecond = bytesPerSecond
        self.oneWayDelayMicros = Int64(oneWayDelayMs * 1000)
    }

    /// Runs the transfer from time 0 until nothing is left to happen.
    mutating func run() -> Result {
        var result = Result(sender: sender.statistics, receiver: receiver.statistics)
        var nextOffset = receiver.deliverFrom
        handle(receiver.start(now: 0), at: 0, &result, &nextOffset)
        handle(sender.start(now: 0), at: 0, &result)
        scheduleTicks(after: 0)
        while let (time, event) = queue.pop(), time <= limitMicros {
            let now = time / 1000
            switch event {
            case .chunk(let chunk): handle(receiver.receive(chunk: chunk, now: now), at: time, &result, &nextOffset)
            case .ack(let ack): handle(sender.receive(ack: ack, now: now), at: time, &result)
            case .cancelToReceiver(let cancel): handle(receiver.receive(cancel: cancel), at: time, &result, &nextOffset)
            case .cancelToSender(let cancel): handle(sender.receive(cancel: cancel), at: time, &result)
            case .senderTick(let at):
                guard at == senderTickAt else { break }
                senderTickAt = nil
                handle(sender.tick(now: now), at: time, &result)
            case .receiverTick(let at):
                guard at == receiverTickAt else { break }
                receiverTickAt = nil
                handle(receiver.tick(now: now), at: time, &result, &nextOffset)
            }
            result.maxChunksInFlight = max(result.maxChunksInFlight, sender.inFlightChunkCount)
            result.maxBytesInFlight = max(result.maxBytesInFlight, sender.bytesInFlight)
            scheduleTicks(after: time)
        }
        result.finalWindowBytes = sender.estimator.windowBytes
        result.sender = sender.statistics
        result.receiver = receiver.statistics
        return result
    }

    private mutating func handle(_ actions: [ChunkSender.Action], at time: Int64, _ result: inout Result) {
        for action in actions {
            switch action {
            case .send(let slice), .resend(let slice): transmit(slice, at: time)
            case .finished: result.finishedAtMs = Double(time) / 1000
            case .cancel(let cancel):
                result.senderCancel = cancel
                result.senderCancelledAtMs = Double(time) / 1000
                queue.push(.cancelToReceiver(cancel), at: send(bytes: 300, forward: true, at: time))
            case .peerCancelled: break
            }
        }
    }

    private mutating func handle(_ actions: [ChunkReceiver.Action], at time: Int64, _ result: inout Result, _ nextOffset: inout Int64) {
        for action in actions {
            switch action {
            case .deliver(let offset, let data):
                if offset != nextOffset || data != ChunkedFixtures.content(offset: offset, length: Int64(data.count)) {
                    result.deliveriesCorrect = false
                }
                nextOffset = offset + Int64(data.count)
                result.deliveredBytes += Int64(data.count)
            case .sendAck(let ack): queue.push(.ack(ack), at: send(bytes: 200, forward: false, at: time))
            case .complete: result.completedAtMs = Double(time) / 1000
            case .cancel(let cancel):
                result.receiverCancel = cancel
                queue.push(.cancelToSender(cancel), at: send(bytes: 300, forward: false, at: time))
            case .peerCancelled: break
            }
        }
    }

    /// Frames the slice as the mode says and puts it on the forward link.
    private mutating func transmit(_ slice: ChunkSlice, at time: Int64) {
        let count = (transmissions[slice.index] ?? 0) + 1
        transmissions[slice.index] = count
        let data = ChunkedFixtures.content(offset: slice.offset, length: slice.length)
        var chunk: ReceivedChunk
        let wireBytes: Int64
        if sender.mode.usesBinaryFrames {
            chunk = ReceivedChunk(sender.binaryFrame(slice, data: data))
            wireBytes = slice.length + Int64(FastChunkFrame.fixedHeaderBytes) + 36 + 2 + 16
        } else {
            chunk = ReceivedChunk(sender.textChunk(slice, data: data))
            wireBytes = (slice.length + 2) / 3 * 4 + 300
        }
        let arrival = send(bytes: wireBytes, forward: true, at: time)
        switch fate(slice.index, count) {
        case .deliver: break
        case .drop: return
        case .corrupt: chunk.data[chunk.data.startIndex] ^= 0xFF
        }
        queue.push(.chunk(chunk), at: arrival)
    }

    /// Queues `bytes` on one direction of the link at `time`; returns the arrival time.
    private mutating func send(bytes: Int64, forward: Bool, at time: Int64) -> Int64 {
        let serialization = Double(bytes) / bytesPerSecond * 1_000_000
        let start = max(Double(time), forward ? forwardFreeMicros : backwardFreeMicros)
        let done = start + serialization
        if forward { forwardFreeMicros = done } else { backwardFreeMicros = done }
        return Int64(done.rounded(.up)) + oneWayDelayMicros
    }

    private mutating func scheduleTicks(after time: Int64) {
        if let deadline = sender.nextDeadline {
            let at = max(deadline * 1000, time)
            if senderTickAt != at {
                senderTickAt = at
                queue.push(.senderTick(at), at: at)
            }
        }
        if let deadline = receiver.nextDeadline {
            let at = max(deadline * 1000, time)
            if receiverTickAt != at {
                receiverTickAt = at
                queue.push(.receiverTick(at), at: at)
            }
        }
    }
}

/// A binary min-heap of events by (time, insertion order).
struct EventQueue<Event> {
    private var heap: [(time: Int64, order: Int, event: Event)] = []
    private var counter = 0

    mutating func push(_ event: Event, at time: Int64) {
        counter += 1
        heap.append((time, counter, event))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.before(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (Int64, Event)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, Self.before(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count, Self.before(heap[right], heap[smallest]) { smallest = right }
            guard smallest != parent else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return (top.time, top.event)
    }

    private static func before(_ a: (time: Int64, order: Int, event: Event), _ b: (time: Int64, order: Int, event: Event)) -> Bool {
        a.time != b.time ? a.time < b.time : a.order < b.order
    }
}
