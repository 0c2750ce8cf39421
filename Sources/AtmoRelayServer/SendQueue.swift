import NIOCore
import Synchronization

/// One frame waiting for a peer's socket. Its bytes are shared: a broadcast encodes one
/// buffer that every receiver's queue holds without copying.
struct OutboundFrame: Sendable {
    /// Whether the frame is sent as a text or a binary WebSocket frame.
    enum Kind: Sendable { case text, binary }

    var kind: Kind
    var data: ByteBuffer
}

/// The bounded queue between the relay and one peer's socket. The relay only ever adds to
/// it (never waiting for the socket); the peer's writer task drains it. When it is full,
/// `enqueue` says so and the relay drops the peer, so a slow or dead peer never stalls the
/// others. A close is queued behind the frames already waiting.
final class SendQueue: Sendable {
    /// What the writer does next.
    enum Next: Sendable {
        /// Write this frame.
        case frame(OutboundFrame)
        /// Send a close frame with this code and reason, then stop.
        case close(code: UInt16, reason: String)
        /// Stop: the connection is gone.
        case stop
    }

    /// The outcome of `enqueue`.
    enum EnqueueResult: Sendable, Equatable {
        case queued
        /// The queue is at its bounds: the frame was not queued.
        case full
        /// The connection is closing or gone: the frame was dropped.
        case closed
    }

    private struct State {
        let gauge: QueuedBytesGauge
        var frames = CircularBuffer<OutboundFrame>()
        var bytes = 0
        /// When the writer last took a frame, or the first frame came into an empty queue.
        var lastProgress = ContinuousClock.now
        /// While held, the writer takes nothing (the founder waits for its registration to be stored).
        var held = false
        var closeRequest: (code: UInt16, reason: String)?
        var closeTaken = false
        var finished = false
        var writerWaiter: CheckedContinuation<Void, Never>?
        var closeWaiter: CheckedContinuation<Void, Never>?

        var writerHasWork: Bool {
            finished || closeTaken || (!held && (!frames.isEmpty || closeRequest != nil))
        }

        var closeIsRequested: Bool { finished || closeRequest != nil }

        mutating func take() -> Next? {
            if finished || closeTaken { return .stop }
            guard !held else { return nil }
            if let frame = frames.popFirst() {
                bytes -= frame.data.readableBytes
                gauge.add(-frame.data.readableBytes)
                lastProgress = .now
                return .frame(frame)
            }
            if let closeRequest {
                closeTaken = true
                return .close(code: closeRequest.code, reason: closeRequest.reason)
            }
            return nil
        }

        mutating func discardPending() {
            frames.removeAll()
            gauge.add(-bytes)
            bytes = 0
        }
    }

    let limits: RelayServerConfiguration.SendQueueLimits
    /// The bytes waiting in every queue of the relay, this one's included.
    let gauge: QueuedBytesGauge
    private let state: Mutex<State>

    init(limits: RelayServerConfiguration.SendQueueLimits, gauge: QueuedBytesGauge = QueuedBytesGauge()) {
        self.limits = limits
        self.gauge = gauge
        state = Mutex(State(gauge: gauge))
    }

    /// The bytes waiting, and for how long the writer has taken nothing while frames wait.
    func backlog(now: ContinuousClock.Instant = .now) -> (bytes: Int, stalled: Duration) {
        state.withLock { state in
            (state.bytes, state.frames.isEmpty ? .zero : now - state.lastProgress)
        }
    }

    /// Queues `frame` unless the queue is closed or at its bounds (the bytes bound lets a
    /// single frame into an empty queue, whatever its size).
    func enqueue(_ frame: OutboundFrame) -> EnqueueResult {
        let (result, waiter): (EnqueueResult, CheckedContinuation<Void, Never>?) = state.withLock { state in
            guard !state.finished, state.closeRequest == nil else { return (.closed, nil) }
            let size = frame.data.readableBytes
            guard state.frames.count < limits.maxFrames, state.frames.isEmpty || state.bytes + size <= limits.maxBytes
            else { return (.full, nil) }
            if state.frames.isEmpty { state.lastProgress = .now }
            state.frames.append(frame)
            state.bytes += size
            state.gauge.add(size)
            return (.queued, state.held ? nil : state.writerWaiter.take())
        }
        waiter?.resume()
        return result
    }

    /// Asks the writer to close with `code` and `reason` after the frames already queued
    /// (all of them dropped first when `discardPending`). Later frames are refused; the
    /// first close asked for wins.
    func requestClose(code: UInt16, reason: String, discardPending: Bool = false) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if discardPending { state.discardPending() }
            if state.closeRequest == nil { state.closeRequest = (code, reason) }
            return [state.held ? nil : state.writerWaiter.take(), state.closeWaiter.take()].compactMap { $0 }
        }
        waiters.forEach { $0.resume() }
    }

    /// Drops every frame waiting (a peer dropped for being slow gets no backlog).
    func discardPending() {
        state.withLock { $0.discardPending() }
    }

    /// Holds the writer: frames are queued but not written until `release`.
    func hold() {
        state.withLock { $0.held = true }
    }

    /// Lets the writer take frames again, dropping the held ones when `discardPending`.
    func release(discardPending: Bool = false) {
        let waiter = state.withLock { state in
            if discardPending { state.discardPending() }
            state.held = false
            return state.writerWaiter.take()
        }
        waiter?.resume()
    }

    /// The connection is gone: the writer stops and nothing more is queued.
    func finish() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.finished = true
            state.discardPending()
            return [state.writerWaiter.take(), state.closeWaiter.take()].compactMap { $0 }
        }
        waiters.forEach { $0.resume() }
    }

    /// What the writer does next, waiting until there is something. `.stop` when the
    /// connection is gone or the task is cancelled.
    func next() async -> Next {
        while !Task.isCancelled {
            if let next = state.withLock({ $0.take() }) { return next }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { state in
                        if state.writerHasWork || Task.isCancelled { return true }
                        state.writerWaiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                state.withLock { $0.writerWaiter.take() }?.resume()
            }
        }
        return .stop
    }

    /// Waits until a close is requested; false when the queue finished without one or the
    /// task was cancelled.
    func closeRequested() async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state in
                    if state.closeIsRequested || Task.isCancelled { return true }
                    state.closeWaiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.closeWaiter.take() }?.resume()
        }
        return !Task.isCancelled && state.withLock { $0.closeRequest != nil }
    }
}

/// The bytes waiting in all of a relay's send queues together (`RelayQueueBudget` caps it).
/// Each queue adds what it queues and takes off what its writer takes or it discards.
final class QueuedBytesGauge: Sendable {
    private let bytes = Atomic<Int>(0)
    private let highest = Atomic<Int>(0)

    init() {}

    /// The bytes waiting now.
    var value: Int { bytes.load(ordering: .relaxed) }

    /// The most bytes that were waiting at once.
    var peak: Int { highest.load(ordering: .relaxed) }

    func add(_ delta: Int) {
        let now = bytes.wrappingAdd(delta, ordering: .relaxed).newValue
        if delta > 0 { highest.max(now, ordering: .relaxed) }
    }
}
