import AtmoProtocol
import Foundation

/// How a node introduces itself to a relay: as the mesh's founder (proving it holds the mesh
/// key), as a member with a token, or openly (a mesh nobody registered admits anyone).
public enum RelayHello: Sendable, Hashable {
    /// `register_mesh` with the founder's proof.
    case founder(RelayRegisterMesh)
    /// `join` with a token, or with none for an open mesh.
    case member(RelayJoin)
}

/// One connection of a node to a relay, as a pure state machine: the node layer reports
/// what happened on the socket and the clock, and performs the `RelayClientSession.Action`s
/// it gets back. Time is Unix epoch milliseconds.
///
/// - On `connected` it sends its hello (`register_mesh` or `join`).
/// - It is `joined` once the relay says `joined`; `peers`, `peer_joined` and `peer_left`
///   keep its view of the other peers; `message` deliveries are handed up as payloads.
/// - `tick` pings every `pingIntervalMs` and asks for a reconnect when nothing was heard for
///   `silenceTimeoutMs` (a relay answers every ping) or no `joined` came within it.
/// - An `error` before admission (bad token, full mesh) ends the session with `refused`:
///   the caller waits longer before trying again, since the same hello would fail the same way.
public struct RelayClientSession: Sendable {
    /// Where the session is.
    public enum Phase: Sendable, Hashable {
        /// Not connected yet.
        case idle
        /// The hello is sent; waiting for `joined`.
        case greeting
        /// Admitted to the mesh.
        case joined
        /// Over: refused or timed out (a new connection starts a new session).
        case ended
    }

    /// What the node layer must do.
    public enum Action: Sendable, Hashable {
        /// Send this message as a text frame.
        case send(RelayMessage)
        /// The session is admitted; `features` are what the relay advertised (e.g. `binary_direct`).
        case joined(meshID: String, features: [String])
        /// A peer is in the mesh: add or refresh it. `isNew` when it joined after this node
        /// (it missed what was broadcast before), false for the list sent on joining.
        case peerPresent(RelayPeer, isNew: Bool)
        /// A peer left the mesh.
        case peerGone(nodeID: String)
        /// A `broadcast` or `direct` payload from the peer `from`.
        case payload(from: String, [String: JSONValue])
        /// The relay refused this node (its `error` code and message): try again only much later.
        case refused(code: String?, message: String)
        /// The connection is dead or useless: close it and reconnect (after a backoff).
        case reconnect(reason: String)
    }

    /// How often to ping (the notes: clients ping every 20-25 s).
    public var pingIntervalMs: Int64 = 20_000
    /// Silence after which the connection counts as dead (the relay answers every ping).
    public var silenceTimeoutMs: Int64 = 60_000

    /// The current phase.
    public private(set) var phase = Phase.idle
    /// The other peers of the mesh, by node id (this node excluded).
    public private(set) var peers: [String: RelayPeer] = [:]
    /// The relay's advertised features (from `joined`), e.g. `binary_direct`.
    public private(set) var features: [String] = []

    let hello: RelayHello
    let ownNodeID: String
    private var lastHeardMs: Int64 = 0
    private var lastPingMs: Int64 = 0

    /// A session that will introduce itself with `hello`.
    public init(hello: RelayHello) {
        self.hello = hello
        switch hello {
        case .founder(let register): ownNodeID = register.nodeID
        case .member(let join): ownNodeID = join.nodeID
        }
    }

    /// The socket is open at `now`: the hello goes out.
    public mutating func connected(now: Int64) -> [Action] {
        phase = .greeting
        peers = [:]
        features = []
        lastHeardMs = now
        lastPingMs = now
        switch hello {
        case .founder(let register): return [.send(.registerMesh(register))]
        case .member(let join): return [.send(.join(join))]
        }
    }

    /// The socket closed (by either side): every peer seen through it is gone.
    public mutating func disconnected() -> [Action] {
        let gone = peers.keys.sorted().map { Action.peerGone(nodeID: $0) }
        peers = [:]
        phase = .ended
        return gone
    }

    /// A text frame from the relay, decoded, at `now`.
    public mutating func received(_ message: RelayMessage, now: Int64) -> [Action] {
        guard phase == .greeting || phase == .joined else { return [] }
        lastHeardMs = now
        switch message {
        case .meshRegistered, .pong:
            return []
        case .joined(let joined):
            phase = .joined
            features = joined.extra["features"]?.arrayValue?.compactMap(\.stringValue) ?? []
            return [.joined(meshID: joined.meshID, features: features)]
        case .peers(let list):
            let fresh = Dictionary(list.peers.filter { $0.nodeID != ownNodeID }.map { ($0.nodeID, $0) }) { first, _ in first }
            let gone = Set(peers.keys).subtracting(fresh.keys).sorted().map { Action.peerGone(nodeID: $0) }
            peers = fresh
            return gone + fresh.keys.sorted().compactMap { id in fresh[id].map { Action.peerPresent($0, isNew: false) } }
        case .peerJoined(let joined):
            guard joined.peer.nodeID != ownNodeID else { return [] }
            peers[joined.peer.nodeID] = joined.peer
            return [.peerPresent(joined.peer, isNew: true)]
        case .peerLeft(let left):
            guard peers.removeValue(forKey: left.nodeID) != nil else { return [] }
            return [.peerGone(nodeID: left.nodeID)]
        case .message(let delivery):
            guard phase == .joined, delivery.from != ownNodeID else { return [] }
            return [.payload(from: delivery.from, delivery.payload)]
        case .error(let error):
            guard phase == .greeting else { return [] }  // e.g. "Peer X not found" for a direct: not fatal
            phase = .ended
            return [.refused(code: error.code, message: error.message)]
        case .registerMesh, .join, .broadcast, .direct, .ping, .unknown:
            return []  // client messages or types this version does not know
        }
    }

    /// Time passes: pings when due; a silent relay or a hello left unanswered ends the session.
    public mutating func tick(now: Int64) -> [Action] {
        guard phase == .greeting || phase == .joined else { return [] }
        if now - lastHeardMs >= silenceTimeoutMs {
            let seconds = silenceTimeoutMs / 1000
            let reason = phase == .greeting ? "no answer to the hello in \(seconds) s" : "relay silent for \(seconds) s"
            phase = .ended
            return [.reconnect(reason: reason)]
        }
        guard phase == .joined, now - lastPingMs >= pingIntervalMs else { return [] }
        lastPingMs = now
        return [.send(.ping(RelayPing()))]
    }

    /// A `broadcast` of `payload` to every other peer, or nothing while not joined.
    public func broadcast(_ payload: [String: JSONValue]) -> [Action] {
        phase == .joined ? [.send(.broadcast(RelayBroadcast(payload: payload)))] : []
    }

    /// A `direct` of `payload` to `nodeID`, or nothing while not joined or when it is not in the mesh.
    public func direct(_ payload: [String: JSONValue], to nodeID: String) -> [Action] {
        phase == .joined && peers[nodeID] != nil ? [.send(.direct(RelayDirect(target: nodeID, payload: payload)))] : []
    }
}
