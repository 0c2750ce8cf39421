import AtmoProtocol
import NIOCore
import Synchronization

/// Shares one `PiecePlan` between the fetch workers and the in-order hasher of a pull.
/// A `Mutex` guards the plan; tasks that must wait park a continuation that any change of
/// the plan (or cancellation) resumes.
final class PullCoordinator: Sendable {
    struct State {
        var plan: PiecePlan
        /// Bytes of written pieces kept for the hash, by piece index.
        var buffers: [Int: ByteBuffer] = [:]
        /// Bytes received so far of pieces in flight, for smooth progress.
        var inFlightBytes: [Int: Int64] = [:]
        var failure: TransferError?
        var version: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var nextWaiterID: UInt64 = 0
    }

    enum Work {
        case fetch(index: Int, offset: Int64, length: Int64)
        case finished
    }

    enum HashWork {
        case hash(index: Int, buffer: ByteBuffer?)
        case complete
    }

    private let state: Mutex<State>

    init(plan: PiecePlan) {
        state = Mutex(State(plan: plan))
    }

    var plan: PiecePlan { state.withLock { $0.plan } }

    /// The next piece for a worker; waits while the window is full. Throws the pull's
    /// failure once one piece has given up.
    func nextWork() async throws -> Work {
        while true {
            let (assignment, version) = try state.withLock { state throws -> (PiecePlan.Assignment, UInt64) in
                if let failure = state.failure { throw failure }
                let assignment = state.plan.nextAssignment()
                if case .fetch(let index, _, _) = assignment { state.inFlightBytes[index] = 0 }
                return (assignment, state.version)
            }
            switch assignment {
            case .fetch(let index, let offset, let length): return .fetch(index: index, offset: offset, length: length)
            case .finished: return .finished
            case .wait: try await waitForChange(after: version)
            }
        }
    }

    func received(_ index: Int, bytesSoFar: Int64) {
        state.withLock { $0.inFlightBytes[index] = bytesSoFar }
    }

    /// A worker wrote piece `index`; `buffer` is kept until the hasher takes it.
    func written(_ index: Int, buffer: ByteBuffer) {
        changing { state in
            state.plan.pieceWritten(index, keptInMemory: true)
            state.buffers[index] = buffer
            state.inFlightBytes[index] = nil
        }
    }

    /// A fetch failed. Returns how long to wait before retrying the same piece (it stays
    /// with this worker meanwhile, see `retry`), or throws (and fails the whole pull) when
    /// the piece has used up its attempts.
    func failed(_ index: Int, error: TransferError) throws -> Double {
        try changing { state throws -> Double in
            state.inFlightBytes[index] = nil
            switch state.plan.pieceFailed(index) {
            case .retry(let delay): return delay
            case .giveUp(let attempts):
                var final = error
                final.message += " (piece \(index) failed \(attempts) times)"
                state.failure = final
                throw final
            }
        }
    }

    /// The next attempt at a piece whose fetch failed, after the back-off `failed` gave.
    /// Throws the pull's failure if another worker failed it meanwhile.
    func retry(_ index: Int) throws -> Work {
        try state.withLock { state throws -> Work in
            if let failure = state.failure { throw failure }
            state.inFlightBytes[index] = 0
            guard case .fetch(let index, let offset, let length) = state.plan.retry(index) else { return .finished }
            return .fetch(index: index, offset: offset, length: length)
        }
    }

    /// Fails the pull at once (a fatal answer such as a changed source or a full disk).
    func fail(_ error: TransferError) {
        changing { state in
            if state.failure == nil { state.failure = error }
        }
    }

    /// The next piece in file order, waiting until it is written.
    func nextHashWork() async throws -> HashWork {
        while true {
            let (step, buffer, version) = try state.withLock { state throws -> (PiecePlan.HashStep, ByteBuffer?, UInt64) in
                if let failure = state.failure { throw failure }
                let step = state.plan.nextHashStep()
                var buffer: ByteBuffer? = nil
                if case .hash(let index, true) = step { buffer = state.buffers.removeValue(forKey: index) }
                return (step, buffer, state.version)
            }
            switch step {
            case .hash(let index, _): return .hash(index: index, buffer: buffer)
            case .complete: return .complete
            case .wait: try await waitForChange(after: version)
            }
        }
    }

    func hashed(_ index: Int) {
        changing { $0.plan.pieceHashed(index) }
    }

    /// Bytes on disk plus bytes arriving, for progress (may dip when a piece fails; the
    /// progress reporter keeps what it shows monotonic).
    var progressBytes: (bytes: Int64, piecesWritten: Int) {
        state.withLock { state in
            let written = state.plan.writtenBytes
            return (written + state.inFlightBytes.values.reduce(0, +), state.plan.writtenPieces.setCount)
        }
    }

    private func changing<T>(_ body: (inout State) throws -> T) rethrows -> T {
        let (result, waiters) = try state.withLock { state throws -> (T, [CheckedContinuation<Void, any Error>]) in
            let result = try body(&state)
            state.version &+= 1
            let waiters = Array(state.waiters.values)
            state.waiters.removeAll()
            return (result, waiters)
        }
        for waiter in waiters { waiter.resume() }
        return result
    }

    private func waitForChange(after version: UInt64) async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiterID &+= 1
            return state.nextWaiterID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.version != version || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }
}
