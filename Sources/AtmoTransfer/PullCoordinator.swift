import AtmoProtocol
import NIOCore

/// Shares one `PiecePlan` between the fetch workers and the in-order hasher of a pull.
/// `ObservedState` guards the plan; a task that must wait does so until the plan changes
/// (or it is cancelled).
final class PullCoordinator: Sendable {
    struct State {
        var plan: PiecePlan
        /// Bytes of written pieces kept for the hash, by piece index.
        var buffers: [Int: ByteBuffer] = [:]
        /// Bytes received so far of pieces in flight, for smooth progress.
        var inFlightBytes: [Int: Int64] = [:]
        var failure: TransferError?
    }

    enum Work {
        case fetch(index: Int, offset: Int64, length: Int64)
        case finished
    }

    enum HashWork {
        case hash(index: Int, buffer: ByteBuffer?)
        case complete
    }

    private let state: ObservedState<State>

    init(plan: PiecePlan) {
        state = ObservedState(State(plan: plan))
    }

    var plan: PiecePlan { state.withLock { $0.plan } }

    /// The next piece for a worker; waits while the window is full. Throws the pull's
    /// failure once one piece has given up.
    func nextWork() async throws -> Work {
        while true {
            let (assignment, version) = try state.observe { state throws -> PiecePlan.Assignment in
                if let failure = state.failure { throw failure }
                let assignment = state.plan.nextAssignment()
                if case .fetch(let index, _, _) = assignment { state.inFlightBytes[index] = 0 }
                return assignment
            }
            switch assignment {
            case .fetch(let index, let offset, let length): return .fetch(index: index, offset: offset, length: length)
            case .finished: return .finished
            case .wait: try await state.waitForChange(after: version)
            }
        }
    }

    func received(_ index: Int, bytesSoFar: Int64) {
        state.withLock { $0.inFlightBytes[index] = bytesSoFar }
    }

    /// A worker wrote piece `index`; `buffer` is kept until the hasher takes it.
    func written(_ index: Int, buffer: ByteBuffer) {
        state.change { state in
            state.plan.pieceWritten(index, keptInMemory: true)
            state.buffers[index] = buffer
            state.inFlightBytes[index] = nil
        }
    }

    /// A fetch failed. Returns how long to wait before retrying the same piece (it stays
    /// with this worker meanwhile, see `retry`), or throws (and fails the whole pull) when
    /// the piece has used up its attempts.
    func failed(_ index: Int, error: TransferError) throws -> Double {
        try state.change { state throws -> Double in
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
        state.change { state in
            if state.failure == nil { state.failure = error }
        }
    }

    /// The next piece in file order, waiting until it is written.
    func nextHashWork() async throws -> HashWork {
        while true {
            let ((step, buffer), version) = try state.observe { state throws -> (PiecePlan.HashStep, ByteBuffer?) in
                if let failure = state.failure { throw failure }
                let step = state.plan.nextHashStep()
                var buffer: ByteBuffer? = nil
                if case .hash(let index, true) = step { buffer = state.buffers.removeValue(forKey: index) }
                return (step, buffer)
            }
            switch step {
            case .hash(let index, _): return .hash(index: index, buffer: buffer)
            case .complete: return .complete
            case .wait: try await state.waitForChange(after: version)
            }
        }
    }

    func hashed(_ index: Int) {
        state.change { $0.plan.pieceHashed(index) }
    }

    /// Bytes on disk plus bytes arriving, for progress (may dip when a piece fails; the
    /// progress reporter keeps what it shows monotonic).
    var progressBytes: (bytes: Int64, piecesWritten: Int) {
        state.withLock { state in
            let written = state.plan.writtenBytes
            return (written + state.inFlightBytes.values.reduce(0, +), state.plan.writtenPieces.setCount)
        }
    }
}
