import Synchronization

/// How many of the upstream's JSON answers (info, tree pages) this node reads at once: each
/// holds up to `HubUpstreamJSON.maxTreePageBytes` and its decoding while it is read, and
/// clients choose the repositories, so without a bound the memory of concurrent lookups of
/// distinct repositories adds up. The others wait their turn, first come first served, for
/// at most `wait` each: a read holds its turn as long as a slow upstream makes it (its
/// head's and its body's timeouts), so behind a few hostile reads a waiter would wait
/// without end; past `wait` it throws `HubUpstreamBusy` (the client gets `503`, retry). A
/// waiting task that is cancelled or times out stops waiting and takes no turn.
final class HubUpstreamReads: Sendable {
    let limit: Int
    /// How long a read waits for its turn before it throws `HubUpstreamBusy`.
    let wait: Duration
    private let state = Mutex(State())

    /// `running < limit` only while nobody waits: `release` hands its turn to the first
    /// waiter, so a read that comes later never passes one that waits.
    private struct State {
        var running = 0
        var nextID = 0
        /// The waiters, first come first.
        var queue: [Int] = []
        var tickets: [Int: Ticket] = [:]
    }

    /// A waiter's place, from the moment it queues: its turn or its end can come before its
    /// task has parked (a loaded machine), and is kept until the task takes it.
    private enum Ticket {
        /// In the queue; `continuation` once its task parked.
        case queued(CheckedContinuation<Void, any Error>?)
        /// Out of the queue with a turn (`release`), not taken yet.
        case granted
        /// Out of the queue with no turn (timed out, cancelled), not told yet.
        case failed(any Error)
    }

    /// The default `wait` is the upstream client's request timeout (`HubUpstreamClient.timeout`).
    init(limit: Int = 4, wait: Duration = .seconds(30)) {
        self.limit = max(1, limit)
        self.wait = wait
    }

    /// Runs `body` once fewer than `limit` reads run; throws `HubUpstreamBusy` when that took
    /// longer than `wait`.
    func run<T>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        defer { release() }
        return try await body()
    }

    /// Reads running now (for tests).
    var running: Int { state.withLock { $0.running } }

    /// Reads waiting for their turn now (for tests).
    var waiting: Int { state.withLock { $0.queue.count } }

    /// A turn at once if one is free; else a place in the queue, raced against `wait`:
    /// whichever takes it out of the queue first (a `release`, the timer, a cancellation)
    /// decides, once.
    private func acquire() async throws {
        let id: Int? = state.withLock { state in
            if state.running < limit {
                state.running += 1
                return nil
            }
            state.nextID += 1
            state.queue.append(state.nextID)
            state.tickets[state.nextID] = .queued(nil)
            return state.nextID
        }
        guard let id else { return }
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await self.take(id)
                return true
            }
            group.addTask {
                // Cancelled: the turn came, or the waiter is cancelled (`take` says so).
                do { try await Task.sleep(for: self.wait) } catch { return false }
                self.end(id, throwing: HubUpstreamBusy(waited: self.wait, limit: self.limit))
                return false
            }
            // `take` ends with the turn or throws (timed out, cancelled); the timer ending
            // after the turn came changes nothing.
            while let granted = try await group.next() {
                if granted {
                    group.cancelAll()
                    return
                }
            }
            // Not reached: `take` returns or throws.
            throw CancellationError()
        }
    }

    /// Waits until `id`'s ticket is decided: returns with its turn, or throws its end.
    private func take(_ id: Int) async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let decided: Result<Void, any Error>? = state.withLock { state in
                    switch state.tickets[id] {
                    case .granted:
                        state.tickets[id] = nil
                        return .success(())
                    case .failed(let error):
                        state.tickets[id] = nil
                        return .failure(error)
                    case .queued, .none:
                        state.tickets[id] = .queued(continuation)
                        return nil
                    }
                }
                if let decided { continuation.resume(with: decided) }
            }
        } onCancel: {
            end(id, throwing: CancellationError())
        }
    }

    /// Takes `id` out of the queue with no turn, if it still waits there.
    private func end(_ id: Int, throwing error: any Error) {
        let parked = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard case .queued(let continuation) = state.tickets[id] else { return nil }
            state.queue.removeAll { $0 == id }
            guard let continuation else {
                state.tickets[id] = .failed(error)
                return nil
            }
            state.tickets[id] = nil
            return continuation
        }
        parked?.resume(throwing: error)
    }

    /// Hands the turn to the first waiter, or frees it.
    private func release() {
        let parked = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard !state.queue.isEmpty else {
                state.running -= 1
                return nil
            }
            let id = state.queue.removeFirst()
            guard case .queued(let continuation?) = state.tickets[id] else {
                state.tickets[id] = .granted
                return nil
            }
            state.tickets[id] = nil
            return continuation
        }
        parked?.resume()
    }
}

/// No turn to read the upstream came within `HubUpstreamReads.wait`: every slot was taken
/// by reads the upstream is slow to answer. The client gets `503` with `Retry-After`
/// (`HubAnswers.upstreamBusy`), the request is not sent.
struct HubUpstreamBusy: Error, Sendable, Equatable, CustomStringConvertible {
    /// How long the read waited for its turn.
    var waited: Duration
    /// Reads of the upstream at once (`HubUpstreamReads.limit`).
    var limit: Int

    var description: String {
        "the upstream is busy: all \(limit) of this node's reads of it stayed taken for \(HubAnswers.wholeSeconds(waited)) s"
    }
}
