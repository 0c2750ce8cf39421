import AtmoMesh
import AtmoProtocol
import Foundation
import Logging
import Synchronization

/// The node's mesh view behind one lock: the gossip state machine (peers are base URLs),
/// the merged mesh catalog, and the peer table (what was measured of each peer, and the
/// rules of when one is gone). Everything that changes it (routes, discovery, the
/// service's loops) goes through here; the gossip actions it returns are queued for
/// `MeshService` to perform, and the probes the peer table asks for go to `probeRequests`.
final class MeshState: Sendable {
    struct State: Sendable {
        var gossip: GossipState<String>
        var catalog: MeshCatalog
        /// The peers, by node id, and the addresses not yet tied to one (MeshState+Peers.swift).
        var peers: PeerTable
        /// Probes the peer table asked for under the lock, sent to `probeRequests` after it.
        var probesWanted: [String] = []
        var version: UInt64 = 0
        /// `peers.nodeIDsByUniqueHost` as of a peer-table revision (MeshState+Clients.swift).
        var hostIndex: (revision: UInt64, nodeIDs: [String: String])?
        /// The mesh's repositories merged and indexed, as of a catalog revision and this
        /// node's own repositories (MeshState+Repositories.swift).
        var repositoryIndex: RepositoryIndexCache?
        /// The latest refusals of peer catalogs (MeshState+Refusals.swift), bounded.
        var refusedCatalogs = CatalogRefusalMemory()
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

    /// Base URLs to probe now (a peer with a relay route whose endpoint is unproven).
    let probeRequests: AsyncStream<String>
    /// Gossip messages sent and received, for the metrics.
    let gossipCounters = GossipCounters()
    private let probeSink: AsyncStream<String>.Continuation

    /// Where refused catalogs are warned about (`logRefusals`); nil: nowhere.
    let logger: Logger?

    init(gossip: GossipState<String>, catalog: MeshCatalog, logger: Logger? = nil) {
        self.logger = logger
        let peers = PeerTable(ownNodeID: gossip.ownCatalog.nodeID, capacity: Self.maxPeers)
        state = Mutex(State(gossip: gossip, catalog: catalog, peers: peers))
        (actions, sink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        (probeRequests, probeSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(Self.maxPeers))
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Runs `body` on the state and queues the gossip actions it returns (or, with `queue`
    /// false, returns them to the caller). `learned` and `forgot` are applied to the mesh
    /// catalog at once, under the same lock.
    @discardableResult
    func update(queue: Bool = true, _ body: (inout State, Int64) -> [GossipAction<String>]) -> [GossipAction<String>] {
        let now = Self.now()
        let (outgoing, version, published, probes, refusals) = state.withLock {
            state -> ([GossipAction<String>], UInt64?, ModelCatalog?, [String], [CatalogRefusal]) in
            let before = state.version
            let peersBefore = state.peers.revision
            let publishedBefore = state.gossip.ownCatalog.timestamp
            var outgoing: [GossipAction<String>] = []
            for action in body(&state, now) {
                switch action {
                case .learned(let catalog):
                    state.refusedCatalogs.accepted(origin: catalog.nodeID)
                    if state.catalog.apply(catalog, now: now) { state.version &+= 1 }
                    outgoing += state.perform(state.peers.learned(catalog, now: now), now: now)
                case .forgot(let nodeID):
                    if state.catalog.remove(nodeID: nodeID) { state.version &+= 1 }
                    outgoing += state.perform(state.peers.forgotten(nodeID: nodeID), now: now)
                case .push, .pull:
                    if case .push = action { gossipCounters.sent(.push) } else { gossipCounters.sent(.pull) }
                    outgoing.append(action)
                }
            }
            if !state.catalog.expire(now: now).isEmpty { state.version &+= 1 }
            if state.peers.revision != peersBefore { state.version &+= 1 }
            let own = state.gossip.ownCatalog
            defer { state.probesWanted = [] }
            // Every refusal is remembered (for /v1/mesh/peers and a pull's hint); only the
            // notices, a few per interval, are logged.
            for refusal in state.gossip.takeRefusals() { state.refusedCatalogs.record(MeshAPI.RefusedCatalog(refusal, at: now)) }
            let refusals = state.gossip.takeRefusalNotices()
            return (
                outgoing, state.version == before ? nil : state.version, own.timestamp == publishedBefore ? nil : own,
                state.probesWanted, refusals
            )
        }
        logRefusals(refusals)
        if let version { changes.send(version) }
        if let published { ownCatalogs.send(published) }
        for url in probes { probeSink.yield(url) }
        guard queue else { return outgoing }
        for action in outgoing { sink.yield(action) }
        return []
    }

    func finish() {
        sink.finish()
        probeSink.finish()
        changes.finish()
        ownCatalogs.finish()
    }

    var version: UInt64 { state.withLock { $0.version } }
}
