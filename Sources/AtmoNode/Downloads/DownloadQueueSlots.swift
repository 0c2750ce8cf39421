import AtmoProtocol
import Synchronization

/// The node's download slots by priority: `DownloadScheduler` behind a lock, with the
/// waiting downloads' continuations and the running ones' preemption signals. A download
/// waits in `slot(for:priority:)`, transfers while it holds the slot, and either gives it
/// back (`release`) or, told to stop by its preemption signal, pauses and waits again
/// (`slot(for:priority:resuming: true)`).
final class DownloadQueueSlots: Sendable {
    private struct State {
        var scheduler: DownloadScheduler<String>
        var waiters: [String: CheckedContinuation<Void, any Error>] = [:]
        var preemptions: [String: AsyncStream<Void>.Continuation] = [:]
    }

    private let state: Mutex<State>

    /// `slots` downloads at once, at most `perLevel` of one priority.
    init(slots: Int, perLevel: Int = 1) {
        state = Mutex(State(scheduler: DownloadScheduler(slots: slots, perLevel: perLevel)))
    }

    /// Waits for a slot (`resuming`: the download was preempted and gives its slot up
    /// first); returns a stream that yields when the download must stop for a more urgent
    /// one. Throws `CancellationError` if the task is cancelled while it waits (it then
    /// holds no slot). Every slot returned must be given back with `release` or `slot(...,
    /// resuming: true)`.
    func slot(for id: String, priority: DownloadPriority, resuming: Bool = false) async throws -> AsyncStream<Void> {
        let (preemption, sink) = AsyncStream.makeStream(of: Void.self)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let (actions, cancelled) = state.withLock { state -> ([DownloadScheduler<String>.Action], Bool) in
                    if Task.isCancelled {
                        return (resuming ? state.scheduler.stopped(id, requeue: false) : [], true)
                    }
                    state.waiters[id] = continuation
                    state.preemptions[id] = sink
                    return (resuming ? state.scheduler.stopped(id, requeue: true) : state.scheduler.enqueue(id, priority: priority), false)
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
                perform(actions)
            }
        } onCancel: {
            let (waiter, actions) = state.withLock { state -> (CheckedContinuation<Void, any Error>?, [DownloadScheduler<String>.Action]) in
                guard let waiter = state.waiters.removeValue(forKey: id) else { return (nil, []) }
                state.preemptions.removeValue(forKey: id)
                return (waiter, state.scheduler.withdraw(id))
            }
            waiter?.resume(throwing: CancellationError())
            perform(actions)
        }
        return preemption
    }

    /// Gives the slot of `id` back for good (its download ended or stopped).
    func release(_ id: String) {
        let actions = state.withLock { state in
            state.preemptions.removeValue(forKey: id)?.finish()
            return state.scheduler.stopped(id, requeue: false)
        }
        perform(actions)
    }

    /// Whether a download of `priority` asking now would get a slot at once.
    func canStart(_ priority: DownloadPriority) -> Bool { state.withLock { $0.scheduler.canStart(priority) } }

    /// Whether `id` was preempted and waits to resume.
    func isPaused(_ id: String) -> Bool { state.withLock { $0.scheduler.isPaused(id) } }

    /// Downloads holding a slot and waiting for one (for tests and status).
    var counts: (running: Int, waiting: Int) { state.withLock { $0.scheduler.counts } }

    private func perform(_ actions: [DownloadScheduler<String>.Action]) {
        for action in actions {
            switch action {
            case .start(let id):
                state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
            case .preempt(let id):
                state.withLock { $0.preemptions[id] }?.yield()
            }
        }
    }
}
