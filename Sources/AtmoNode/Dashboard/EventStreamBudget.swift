/// Which event streams of one kind (`GET /v1/events`, or `GET /v1/downloads/events`, each
/// with its own budget) a node keeps open, pure (no sockets, no clock): at most `perAddress`
/// per client address and `total` in all.
///
/// A stream from an address that holds `perAddress` already supersedes that address's
/// oldest (closed at once), so streams a client left behind (a page that froze, a laptop
/// that slept with the page open, a client that never reads) never lock out the page its
/// user opens now: a browser holds one stream for all its tabs (the dashboard's shared
/// worker), six at most without it. A stream from an address under its bound when `total`
/// are open is refused: another address's streams are not closed for it.
struct EventStreamBudget: Sendable {
    typealias StreamID = UInt64

    /// What `admit` decided.
    enum Admission: Sendable, Hashable {
        /// Open the stream `id`; close `superseding` first (the address's oldest) when set.
        case admitted(StreamID, superseding: StreamID?)
        /// `total` streams are open, none of them this address's to give up.
        case refused
    }

    let perAddress: Int
    let total: Int
    /// Each address's open streams, oldest first; addresses with none are forgotten.
    private var open: [String: [StreamID]] = [:]
    private(set) var count = 0
    private var lastID: StreamID = 0

    /// A budget of `perAddress` streams per address and `total` in all (each at least 1).
    init(perAddress: Int, total: Int) {
        self.perAddress = max(1, perAddress)
        self.total = max(1, total)
    }

    /// A stream from `address` asks to open.
    mutating func admit(address: String) -> Admission {
        var held = open[address] ?? []
        var superseded: StreamID?
        if held.count >= perAddress {
            superseded = held.removeFirst()
            count -= 1
        } else if count >= total {
            return .refused
        }
        lastID += 1
        held.append(lastID)
        open[address] = held
        count += 1
        return .admitted(lastID, superseding: superseded)
    }

    /// The stream `id` of `address` ended (a superseded one was let go by `admit` already).
    mutating func release(_ id: StreamID, address: String) {
        guard var held = open[address], let index = held.firstIndex(of: id) else { return }
        held.remove(at: index)
        count -= 1
        open[address] = held.isEmpty ? nil : held
    }

    /// The open streams of `address`, oldest first.
    func streams(of address: String) -> [StreamID] { open[address] ?? [] }
}
