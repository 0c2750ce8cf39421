import Foundation
import Synchronization

/// Hands every value to every current subscriber (each an `AsyncStream` with a bounded
/// buffer, so a slow reader loses old values instead of growing memory).
final class Broadcaster<Value: Sendable>: Sendable {
    private let subscribers = Mutex<[UUID: AsyncStream<Value>.Continuation]>([:])
    private let finished = Mutex(false)
    let bufferSize: Int

    init(bufferSize: Int = 256) { self.bufferSize = bufferSize }

    /// A stream of the values sent from now on; `first` are delivered before them.
    func subscribe(first: [Value] = []) -> AsyncStream<Value> {
        let (stream, continuation) = AsyncStream.makeStream(of: Value.self, bufferingPolicy: .bufferingNewest(max(bufferSize, first.count)))
        for value in first { continuation.yield(value) }
        if finished.withLock({ $0 }) {
            continuation.finish()
            return stream
        }
        let id = UUID()
        subscribers.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        return stream
    }

    func send(_ value: Value) {
        for continuation in subscribers.withLock({ Array($0.values) }) { continuation.yield(value) }
    }

    /// Ends every stream; later subscribers get only their `first` values.
    func finish() {
        finished.withLock { $0 = true }
        for continuation in subscribers.withLock({ Array($0.values) }) { continuation.finish() }
    }
}
