import NIOCore
import Synchronization

/// The kept-alive plain-HTTP connections (`RangeConnection`) of one repository pull to its
/// sources, each lent to one range request at a time and kept for the next one, over every
/// file of the pull; all closed when the pull ends (`close`).
///
/// A repository's files are fetched through `RepositoryFileChannel`, which a swarm pull does
/// not see as a `PeerClient`, so its ranges went over AsyncHTTPClient: reads of at most
/// 64 KiB, and idle connections left to the pool's 30 s timeout after the pull. Here they get
/// `RangeConnection`'s reads of up to 256 KiB, and end with the pull. `https://` sources and
/// relays keep their own channel (`borrow` says nil).
final class RepositoryConnections: Sendable {
    private struct State {
        /// Connections no request uses now, by the source's base URL.
        var idle: [String: [RangeConnection]] = [:]
        /// Every connection made, lent or idle.
        var all: [ObjectIdentifier: RangeConnection] = [:]
        var closed = false
    }
    private let state = Mutex(State())
    let connectTimeout: TimeAmount
    let stallTimeout: TimeAmount

    init(_ configuration: PullConfiguration) {
        connectTimeout = .milliseconds(Int64(configuration.connectTimeoutSeconds * 1000))
        stallTimeout = .milliseconds(Int64(configuration.stallTimeoutSeconds * 1000))
    }

    deinit { close() }

    /// A connection to `client`'s peer for one request: an idle one, else a new one (it
    /// connects on its first request, on one of the client's event loops). Nil when the
    /// peer is not plain `http://`, or the pull ended.
    func borrow(for client: PeerClient) -> RangeConnection? {
        let kept = state.withLock { state -> RangeConnection? in
            guard !state.closed else { return nil }
            return state.idle[client.baseURL]?.popLast()
        }
        if let kept { return kept }
        guard
            let made = RangeConnection(
                baseURL: client.baseURL, eventLoop: client.http.eventLoopGroup.next(), connectTimeout: connectTimeout,
                stallTimeout: stallTimeout)
        else { return nil }
        let taken = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.all[ObjectIdentifier(made)] = made
            return true
        }
        return taken ? made : nil
    }

    /// `connection`, borrowed for `client`, is free for the next request (closed if the
    /// pull ended meanwhile). One that failed closed its socket, and opens a new one on its
    /// next request.
    func giveBack(_ connection: RangeConnection, for client: PeerClient) {
        let kept = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.idle[client.baseURL, default: []].append(connection)
            return true
        }
        if !kept { connection.close() }
    }

    /// Closes every connection (the pull is over); later requests get none.
    func close() {
        let open = state.withLock { state -> [RangeConnection] in
            state.closed = true
            defer { (state.all, state.idle) = ([:], [:]) }
            return Array(state.all.values)
        }
        for connection in open { connection.close() }
    }
}
