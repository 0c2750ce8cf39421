import Synchronization

/// Open connections per client address and whether one more is admitted: the accounting
/// behind `ConnectionGuard`, pure (no sockets, no clock), so its rules are tested alone.
///
/// Each address has `limitPerAddress` ordinary places, for any request, and a reserve of
/// `reservePerAddress` more, taken only when the ordinary ones are all held, for the
/// server's short requests (`ConnectionAdmission.reserve`). A connection counts from
/// `opened` (when admitted) until `closed` in the class it was admitted in; a refused one
/// never counts. Addresses with no open connection are forgotten, so the table holds at most
/// one entry per open connection.
package struct ConnectionCounter: Sendable, Hashable {
    /// What `opened` decided.
    package enum Decision: Sendable, Hashable {
        /// Serve it; call `closed(from:)` when it ends.
        case admitted
        /// Serve only short requests on it; call `closed(from:reserved: true)` when it ends.
        case reserved
        /// The address already holds all its places: refuse this one.
        case refused
    }

    private struct Held: Sendable, Hashable {
        var ordinary = 0
        var reserved = 0
    }

    /// Most connections one address may hold open at once for any request.
    package let limitPerAddress: Int
    /// Connections one address may hold past `limitPerAddress`, for short requests.
    package let reservePerAddress: Int
    private var open: [String: Held] = [:]
    /// Open connections over all addresses.
    package private(set) var total = 0

    /// A counter admitting up to `limitPerAddress` connections per address (at least 1),
    /// plus `reservePerAddress` for short requests (at least 0).
    package init(limitPerAddress: Int, reservePerAddress: Int = 0) {
        self.limitPerAddress = max(1, limitPerAddress)
        self.reservePerAddress = max(0, reservePerAddress)
    }

    /// A connection from `address` opens: admitted while the address is under the limit,
    /// into the reserve while that has room, else refused.
    package mutating func opened(from address: String) -> Decision {
        var held = open[address, default: Held()]
        let decision: Decision
        if held.ordinary < limitPerAddress {
            held.ordinary += 1
            decision = .admitted
        } else if held.reserved < reservePerAddress {
            held.reserved += 1
            decision = .reserved
        } else {
            return .refused
        }
        open[address] = held
        total += 1
        return decision
    }

    /// An admitted connection from `address` ended (`reserved`: it was admitted into the
    /// reserve). A call with no such connection left for that address is ignored (never a
    /// negative count).
    package mutating func closed(from address: String, reserved: Bool = false) {
        guard var held = open[address] else { return }
        if reserved {
            guard held.reserved > 0 else { return }
            held.reserved -= 1
        } else {
            guard held.ordinary > 0 else { return }
            held.ordinary -= 1
        }
        total -= 1
        open[address] = held.ordinary + held.reserved == 0 ? nil : held
    }

    /// Connections open from `address` (both classes).
    package func count(from address: String) -> Int {
        open[address].map { $0.ordinary + $0.reserved } ?? 0
    }

    /// Reserve connections open from `address`.
    package func reserved(from address: String) -> Int { open[address]?.reserved ?? 0 }

    /// Addresses with at least one open connection.
    package var addresses: Int { open.count }
}

/// A `ConnectionCounter` shared by the connections of one server (they run on several event
/// loops), behind a lock.
package final class ConnectionLimiter: Sendable {
    private let counter: Mutex<ConnectionCounter>

    /// A limiter admitting up to `limitPerAddress` connections per client address, plus
    /// `reservePerAddress` for short requests.
    package init(limitPerAddress: Int, reservePerAddress: Int = 0) {
        counter = Mutex(ConnectionCounter(limitPerAddress: limitPerAddress, reservePerAddress: reservePerAddress))
    }

    package func opened(from address: String) -> ConnectionCounter.Decision {
        counter.withLock { $0.opened(from: address) }
    }

    package func closed(from address: String, reserved: Bool = false) {
        counter.withLock { $0.closed(from: address, reserved: reserved) }
    }

    /// Connections open from `address` now.
    package func count(from address: String) -> Int { counter.withLock { $0.count(from: address) } }

    /// Reserve connections open from `address` now.
    package func reserved(from address: String) -> Int { counter.withLock { $0.reserved(from: address) } }

    /// Open connections over all addresses now.
    package var total: Int { counter.withLock { $0.total } }
}
