import Synchronization

/// A value set by one task and read by others: the server's port and node file once it
/// runs, a followed download's last state in `atmo pull`.
package final class Shared<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    package init(_ value: Value) { storage = Mutex(value) }
    package var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }

    /// Sets `newValue` and returns the value before, in one step.
    package func exchange(_ newValue: Value) -> Value {
        storage.withLock { value in
            let old = value
            value = newValue
            return old
        }
    }
}
