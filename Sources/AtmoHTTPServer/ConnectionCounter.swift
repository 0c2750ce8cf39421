import Synchronization

/// Open connections per client address and whether one more is admitted: the accounting
/// behind `ConnectionGuard`, pure (no sockets, no clock), so its rules are tested alone.
///
/// A connection counts from `opened` (when admitted) until `closed`; a refused one never
/// counts. Addresses with no open connection are forgotten, so the table holds at most one
/// entry per open connection.
package struct ConnectionCounter: Sendable, Hashable {
    /// What `opened` decided.
    package enum Decision: Sendable, Hashable {
        /// Serve it; call `closed(from:)` when it ends.
        case admitted
        /// The address already holds `limitPerAddress` connections: refuse this one.
        case refused
    }

    /// Most connections one address may hold open at once.
    package let limitPerAddress: Int
    private var open: [String: Int] = [:]
    /// Open connections over all addresses.
    package private(set) var total = 0

    /// A counter admitting up to `limitPerAddress` connections per address (at least 1).
    package init(limitPerAddress: Int) {
        self.limitPerAddress = max(1, limitPerAddress)
    }

    /// A connection from `address` opens: admitted while the address is under the limit.
    package mutating func opened(from address: String) -> Decision {
        let current = open[address, default: 0]
        guard current < limitPerAddress else { return .refused }
        open[address] = current + 1
        total += 1
        return .admitted
    }

    /// An admitted connection from `address` ended. A call with no admitted connection left
    /// for that address is ignored (never a negative count).
    package mutating func closed(from address: String) {
        guard let current = open[address] else { return }
        total -= 1
        if current <= 1 {
            open[address] = nil
        } else {
            open[address] = current - 1
        }
    }

    /// Connections open from `address`.
    package func count(from address: String) -> Int { open[address, default: 0] }

    /// Addresses with at least one open connection.
    package var addresses: Int { open.count }
}

/// A `ConnectionCounter` shared by the connections of one server (they run on several event
/// loops), behind a lock.
package final class ConnectionLimiter: Sendable {
    private let counter: Mutex<ConnectionCounter>

    /// A limiter admitting up to `limitPerAddress` connections per client address.
    package init(limitPerAddress: Int) {
        counter = Mutex(ConnectionCounter(limitPerAddress: limitPerAddress))
    }

    package func opened(from address: String) -> ConnectionCounter.Decision {
        counter.withLock { $0.opened(from: address) }
    }

    package func closed(from address: String) {
        counter.withLock { $0.closed(from: address) }
    }

    /// Connections open from `address` now.
    package func count(from address: String) -> Int { counter.withLock { $0.count(from: address) } }

    /// Open connections over all addresses now.
    package var total: Int { counter.withLock { $0.total } }
}
