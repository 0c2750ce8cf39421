import Foundation
import Synchronization

/// Hands every value to every current subscriber (each an `AsyncStream` with a bounded
/// buffer, so a slow reader loses old values instead of growing memory).
final class Broadcaster<Value: Sendable>: Sendable {
    private struct State {
        var subscribers: [UUID: AsyncStream<Value>.Continuation] = [:]
        var finished = false
    }

    private let state = Mutex(State())
    let bufferSize: Int

    init(bufferSize: Int = 256) { self.bufferSize = bufferSize }

    /// A stream of the values sent from now on; `first` are delivered before them. After
    /// `finish()`, the stream ends once `first` is read.
    func subscribe(first: [Value] = []) -> AsyncStream<Value> {
        let (stream, continuation) = AsyncStream.makeStream(of: Value.self, bufferingPolicy: .bufferingNewest(max(bufferSize, first.count)))
        for value in first { continuation.yield(value) }
        let id = UUID()
        // Checked and registered under one lock, so a concurrent `finish()` cannot be missed.
        let open = state.withLock { state -> Bool in
            guard !state.finished else { return false }
            state.subscribers[id] = continuation
            return true
        }
        guard open else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    func send(_ value: Value) {
        for continuation in state.withLock({ Array($0.subscribers.values) }) { continuation.yield(value) }
    }

    /// Ends every stream; later subscribers get only their `first` values.
    func finish() {
        let subscribers = state.withLock { state -> [AsyncStream<Value>.Continuation] in
            state.finished = true
            return Array(state.subscribers.values)
        }
        for continuation in subscribers { continuation.finish() }
    }
}
