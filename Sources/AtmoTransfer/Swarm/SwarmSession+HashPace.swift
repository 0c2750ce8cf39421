import Foundation
import Synchronization

/// Holds a spliced run's thread back while the whole-file hasher is far behind it. A spliced
/// pull's bytes go to the file without passing through the process, so nothing else slows the
/// receive down: on two busy cores it ran hundreds of MiB ahead, and the hasher then read
/// them back alone at the end while the other core idled (200-600 ms of a 1 GiB pull on a
/// loaded machine). Kept within `SwarmSession.hashLeadBytes`, the hash ends with the transfer
/// and reads pages the splice has just written, still in the shared cache.
final class HashPace: Sendable {
    private let condition = NSCondition()

    /// Wakes the waiting threads: the hasher moved on, or a run was cancelled.
    func advanced() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks the calling thread while `farBehind()` holds: checked at each wake-up and at
    /// least every 100 ms, for at most `longest` (so a stuck hasher can only slow a run,
    /// never hold it past the throughput floor's window). Returns the seconds waited.
    @discardableResult
    func wait(longest: Double = 5, while farBehind: () -> Bool) -> Double {
        let started = Date()
        let deadline = started.addingTimeInterval(longest)
        condition.lock()
        defer { condition.unlock() }
        while farBehind(), Date() < deadline {
            _ = condition.wait(until: min(deadline, Date().addingTimeInterval(0.1)))
        }
        return Date().timeIntervalSince(started)
    }
}

extension SwarmCoordinator {
    /// Whether the hasher is more than `lead` pieces behind `piece` and has a piece to hash
    /// (the one at its cursor is held): only then is waiting for it of any use. False once
    /// pieces are checked (runs are no longer spliced) or the pull failed.
    func hasherIsBehind(_ piece: Int, byMoreThan lead: Int) -> Bool {
        state.withLock { state in
            let cursor = state.schedule.hashCursor
            guard state.failure == nil, !state.checksPieces, piece - cursor > lead, cursor < state.schedule.pieceCount else { return false }
            return state.schedule.states[cursor] == .held
        }
    }
}

/// A spliced run's cancellation, seen by its thread while it waits for the hasher.
final class SplicedRunCancellation: Sendable {
    private let flag = Atomic<Bool>(false)
    var isCancelled: Bool { flag.load(ordering: .acquiring) }
    func cancel() { flag.store(true, ordering: .releasing) }
}
