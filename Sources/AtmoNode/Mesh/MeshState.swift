import AtmoMesh
import AtmoProtocol
import Foundation
import Synchronization

/// How a peer became known, for `atmo peers` and for keeping configured peers in the view.
public enum PeerOrigin: String, Sendable, Codable {
    case configured, lan, gossip, relay
}

/// The node's mesh view behind one lock: the gossip state machine (peers are base URLs),
/// the merged mesh catalog, and what was measured of each peer. Everything that changes it
/// (routes, discovery, the service's loops) goes through here; the gossip actions it
/// returns are queued for `MeshService` to perform.
final class MeshState: Sendable {
    struct Peer: Sendable {
        var stats: PeerStats
        var origin: PeerOrigin
    }

    struct State: Sendable {
        var gossip: GossipState<String>
        var catalog: MeshCatalog
        /// By node id.
        var peers: [String: Peer] = [:]
        /// Base URLs not yet tied to a node id (configured or discovered, not yet probed).
        var pendingURLs: [String: PeerOrigin] = [:]
        /// Probes of a base URL that failed in a row.
        var probeFailures: [String: Int] = [:]
        /// Node id to the relays (URLs) it is connected through, as this node's relay links see it.
        var relayPresence: [String: Set<String>] = [:]
        var version: UInt64 = 0
    }

    /// Most peers remembered (a hostile peer cannot grow the table without bound).
    static let maxPeers = 2048

    let state: Mutex<State>
    let actions: AsyncStream<GossipAction<String>>
    private let sink: AsyncStream<GossipAction<String>>.Continuation
    /// Told the new version on every change of the mesh catalog or the peers.
    let changes = Broadcaster<UInt64>(bufferSize: 1)
    /// Told this node's catalog each time it is published (start, inventory change, interval),
    /// for the relays, which carry it to peers that HTTP gossip cannot reach.
    let ownCatalogs = Broadcaster<ModelCatalog>(bufferSize: 1)

    init(gossip: GossipState<String>, catalog: MeshCatalog) {
        state = Mutex(State(gossip: gossip, catalog: catalog))
        (actions, sink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(10_000))
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Runs `body` on the state and queues the gossip actions it returns (or, with `queue`
    /// false, returns them to the caller). `learned` and `forgot` are applied to the mesh
    /// catalog at once, under the same lock.
    @discardableResult
    func update(queue: Bool = true, _ body: (inout State, Int64) -> [GossipAction<String>]) -> [GossipAction<String>] {
        let now = Self.now()
        let (outgoing, version, published) = state.withLock { state -> ([GossipAction<String>], UInt64?, ModelCatalog?) in
            let before = state.version
            let publishedBefore = state.gossip.ownCatalog.timestamp
            var outgoing: [GossipAction<String>] = []
            for action in body(&state, now) {
                switch action {
                case .learned(let catalog):
                    if state.catalog.apply(catalog, now: now) { state.version &+= 1 }
                    Self.notePeer(of: catalog, in: &state, now: now)
                case .forgot(let nodeID):
                    if state.catalog.remove(nodeID: nodeID) { state.version &+= 1 }
                    // A peer known only from gossip goes with its catalog (configured and LAN
                    // peers stay: they are probed and come back).
                    if state.peers[nodeID]?.origin == .gossip, state.relayPresence[nodeID] == nil { state.peers[nodeID] = nil }
                case .push, .pull:
                    outgoing.append(action)
                }
            }
            if !state.catalog.expire(now: now).isEmpty { state.version &+= 1 }
            let own = state.gossip.ownCatalog
            return (outgoing, state.version == before ? nil : state.version, own.timestamp == publishedBefore ? nil : own)
        }
        if let version { changes.send(version) }
        if let published { ownCatalogs.send(published) }
        guard queue else { return outgoing }
        for action in outgoing { sink.yield(action) }
        return []
    }

    /// A learned catalog tells who its node is and where it serves.
    private static func notePeer(of catalog: ModelCatalog, in state: inout State, now: Int64) {
        let url = catalog.transferEndpoints.http.map(MeshClient.trimmed)
        if var known = state.peers[catalog.nodeID] {
            known.stats.nodeName = catalog.nodeName
            if let url { known.stats.httpURL = url }
            known.stats.websocket = catalog.transferEndpoints.websocket
            known.stats.lastSeenMs = max(known.stats.lastSeenMs, now)
            state.peers[catalog.nodeID] = known
        } else {
            guard state.peers.count < Self.maxPeers else { return }
            let origin = url.flatMap { state.pendingURLs.removeValue(forKey: $0) } ?? .gossip
            state.peers[catalog.nodeID] = Peer(
                stats: PeerStats(
                    nodeID: catalog.nodeID, nodeName: catalog.nodeName, httpURL: url, websocket: catalog.transferEndpoints.websocket,
                    lastSeenMs: now),
                origin: origin)
        }
        state.version &+= 1
    }

    func finish() {
        sink.finish()
        changes.finish()
        ownCatalogs.finish()
    }

    var version: UInt64 { state.withLock { $0.version } }
}
