import Synchronization

/// State behind a `Mutex` that tasks can wait on. Every `change` bumps a version and wakes
/// every waiter; a task that found nothing to do in the state (read with `observe`, which
/// also answers the version it saw) waits for the next change after that version, or for
/// its cancellation. The coordinators of both kinds of pull share it.
final class ObservedState<State: Sendable>: Sendable {
    private struct Storage {
        var value: State
        var version: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var nextWaiterID: UInt64 = 0
    }

    private let storage: Mutex<Storage>

    init(_ value: State) {
        storage = Mutex(Storage(value: value))
    }

    /// Reads (or changes, without waking anyone: progress counters) the state.
    func withLock<T: Sendable>(_ body: (inout State) throws -> T) rethrows -> T {
        try storage.withLock { try body(&$0.value) }
    }

    /// Reads the state, with the version it had, for `waitForChange(after:)`.
    func observe<T: Sendable>(_ body: (inout State) throws -> T) rethrows -> (T, version: UInt64) {
        try storage.withLock { storage in (try body(&storage.value), storage.version) }
    }

    /// Changes the state and wakes every waiter.
    func change<T: Sendable>(_ body: (inout State) throws -> T) rethrows -> T {
        let (result, waiters) = try storage.withLock { storage throws -> (T, [CheckedContinuation<Void, any Error>]) in
            let result = try body(&storage.value)
            storage.version &+= 1
            let waiters = Array(storage.waiters.values)
            storage.waiters.removeAll()
            return (result, waiters)
        }
        for waiter in waiters { waiter.resume() }
        return result
    }

    /// Returns after the first change since `version` (at once if there was one already);
    /// throws `CancellationError` when the task is cancelled.
    func waitForChange(after version: UInt64) async throws {
        let id = storage.withLock { storage -> UInt64 in
            storage.nextWaiterID &+= 1
            return storage.nextWaiterID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = storage.withLock { storage -> Bool in
                    if storage.version != version || Task.isCancelled { return true }
                    storage.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = storage.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }
}
