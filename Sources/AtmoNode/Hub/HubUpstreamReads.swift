import Synchronization

/// How many of the upstream's JSON answers (info, tree pages) this node reads at once: each
/// holds up to `HubUpstreamJSON.maxTreePageBytes` and its decoding while it is read, and
/// clients choose the repositories, so without a bound the memory of concurrent lookups of
/// distinct repositories adds up. The others wait their turn, first come first served; a
/// waiting task that is cancelled stops waiting.
final class HubUpstreamReads: Sendable {
    let limit: Int
    private let state = Mutex(State())

    private struct State {
        var running = 0
        var nextID = 0
        var waiting: [(id: Int, continuation: CheckedContinuation<Void, any Error>)] = []
    }

    init(limit: Int = 4) {
        self.limit = max(1, limit)
    }

    /// Runs `body` once fewer than `limit` reads run.
    func run<T>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        defer { release() }
        return try await body()
    }

    /// Reads running now (for tests).
    var running: Int { state.withLock { $0.running } }

    private func acquire() async throws {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let granted: Bool? = state.withLock { state in
                    if Task.isCancelled { return nil }
                    guard state.running < limit else {
                        state.waiting.append((id, continuation))
                        return false
                    }
                    state.running += 1
                    return true
                }
                switch granted {
                case .none: continuation.resume(throwing: CancellationError())
                case .some(true): continuation.resume()
                case .some(false): break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.waiting.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiting.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Hands the slot to the first waiter, or frees it.
    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard !state.waiting.isEmpty else {
                state.running -= 1
                return nil
            }
            return state.waiting.removeFirst().continuation
        }
        next?.resume()
    }
}
