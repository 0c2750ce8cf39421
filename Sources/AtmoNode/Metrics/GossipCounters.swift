import Synchronization

/// Gossip messages of one node's mesh, by kind, for `GET /metrics`: catalog pushes and
/// pulls it sent, and the pushes, pull requests and relayed catalogs it received.
final class GossipCounters: Sendable {
    enum Kind: String, Sendable, CaseIterable {
        /// A catalog bundle pushed (`POST /v1/catalogs`).
        case push
        /// A pull of every catalog (`GET /v1/catalogs`).
        case pull
        /// A catalog that came over a relay link.
        case relay
    }

    struct Totals: Sendable, Equatable {
        var sent: [Kind: Int64] = [:]
        var received: [Kind: Int64] = [:]
    }

    private let totals = Mutex(Totals())

    var snapshot: Totals { totals.withLock { $0 } }

    func sent(_ kind: Kind) { totals.withLock { $0.sent[kind, default: 0] += 1 } }

    func received(_ kind: Kind, count: Int = 1) { totals.withLock { $0.received[kind, default: 0] += Int64(max(0, count)) } }
}
