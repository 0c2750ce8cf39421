import AtmoProtocol
import Testing

@testable import AtmoMesh

/// The mesh-lan suite's flake: three nodes that start knowing nobody and find each other
/// on the LAN at about the same time; now and then one of them missed another's catalog
/// until its 300 s re-publication. These replay such starts with every event (a node
/// finding another, a push arriving, a pull asked, its answer arriving) in a random order,
/// with no tick, so nothing is re-published, and check that every node ends with every
/// other's catalog.
struct GossipLANDiscoveryOrderTests {
    /// One event of the start: a discovery, or a message on its way.
    enum Event: Equatable {
        /// `node` finds `peer` on the LAN.
        case finds(node: String, peer: String)
        /// `action` of `from` on its way (a push, or the request of a pull).
        case message(from: String, action: GossipAction<String>)
        /// The answer of `peer` to the pull of `node`, computed when `peer` got the request.
        case answer(node: String, peer: String, catalogs: [ModelCatalog])
        /// `node`'s first scan ends after its start: it publishes its catalog again.
        case scanned(node: String)
    }

    struct Network {
        var nodes: [String: GossipState<String>] = [:]
        var events: [Event] = []
        var now = MeshFixtures.start

        static func id(of peer: String) -> String { String(peer.dropFirst("peer-".count)) }

        init(nodes ids: [String], scanAfterStart: Bool = false) {
            for (index, id) in ids.enumerated() {
                var node = MeshFixtures.node(id, seed: UInt64(index + 1))
                events += node.start(now: now).map { .message(from: id, action: $0) }
                nodes[id] = node
            }
            for id in ids { events += ids.filter { $0 != id }.map { .finds(node: id, peer: $0) } }
            if scanAfterStart { events += ids.map { .scanned(node: $0) } }
        }

        mutating func queue(_ actions: [GossipAction<String>], of id: String) {
            for action in actions {
                switch action {
                case .push, .pull: events.append(.message(from: id, action: action))
                case .learned, .forgot: break
                }
            }
        }

        /// Performs `event` (which must have been taken off `events`).
        mutating func perform(_ event: Event) {
            now += 1
            switch event {
            case .finds(let id, let peer):
                queue(nodes[id]!.peerDiscovered(MeshFixtures.peer(peer), now: now), of: id)
            case .message(_, .push(let catalog, let peer)):
                let id = Self.id(of: peer)
                queue(nodes[id]!.receive(catalog, from: nil, now: now), of: id)
            case .message(let from, .pull(let peer)):
                events.append(.answer(node: from, peer: peer, catalogs: nodes[Self.id(of: peer)]!.catalogsForPull(now: now)))
            case .answer(let id, let peer, let catalogs):
                queue(nodes[id]!.receivePull(catalogs, from: peer, now: now), of: id)
            case .scanned(let id):
                queue(nodes[id]!.inventoryChanged([MeshFixtures.entry("model-\(id)")], now: now), of: id)
            case .message:
                break
            }
        }

        /// Whether `id` holds `origin`'s current catalog.
        func knows(_ id: String, of origin: String) -> Bool {
            nodes[id]!.knownTimestamp(of: origin) == nodes[origin]!.ownCatalog.timestamp
                && nodes[id]!.catalog(of: origin) != nil
        }
    }

    /// The rule that was missing: a peer found on the LAN whose catalog this node already
    /// learned (so it is in the view) is still sent this node's catalog, once.
    @Test func findingAPeerAlreadyLearnedSendsItThisNodesCatalog() {
        let t0 = MeshFixtures.start
        var node = MeshFixtures.node("c")
        _ = node.start(now: t0)
        _ = node.receive(MeshFixtures.catalog("a", at: t0, hops: 1), from: "peer-b", now: t0 + 1)
        #expect(node.peers.contains("peer-a"))
        #expect(node.peerDiscovered("peer-a", now: t0 + 2).pushes.map(\.peer) == ["peer-a"])
        // Found again (the LAN reports it anew): a holds this catalog now, nothing is sent.
        #expect(node.peerDiscovered("peer-a", now: t0 + 3).isEmpty)
    }

    /// The same start seen by the peer table: a node learned from gossip and then found on
    /// the LAN at the address its catalog gives is a LAN peer (it was left "gossip", so
    /// `atmo peers` showed no LAN peer, and it would go with its catalog); one configured
    /// at that address becomes configured.
    @Test func aGossipPeerFoundOnTheLANAtItsAddressIsALANPeer() {
        let url = "http://127.0.0.1:40001"
        var peers = PeerTable(ownNodeID: "c")
        _ = peers.learned(nodeID: "a", nodeName: "node-a", httpURL: url, websocket: true, now: MeshFixtures.start)
        #expect(peers["a"]?.origin == .gossip)
        let revision = peers.revision
        #expect(peers.discovered(url, origin: .lan, nodeID: "a", nodeName: "node-a", instanceName: "node-a") == [.gossipWith(url)])
        #expect(peers["a"]?.origin == .lan && peers["a"]?.lanInstanceName == "node-a")
        #expect(peers.revision != revision && peers.pending.isEmpty)
        #expect(peers.forgotten(nodeID: "a").isEmpty && peers["a"] != nil)
        // Reported again, nothing changes.
        let again = peers.revision
        _ = peers.discovered(url, origin: .lan, nodeID: "a", nodeName: "node-a", instanceName: "node-a")
        #expect(peers.revision == again)
        _ = peers.discovered(url, origin: .configured)
        #expect(peers["a"]?.origin == .configured && peers["a"]?.configuredURLs == [url])
        _ = peers.discovered(url, origin: .lan, nodeID: "a", instanceName: "node-a")
        #expect(peers["a"]?.origin == .configured)
    }

    /// Every random order of a simultaneous start of three (or four) nodes ends with each
    /// knowing the others' current catalogs, without a periodic re-publication; also when
    /// their first scan ends after they started (a second publication in the middle).
    @Test(arguments: [(3, false), (3, true), (4, true)])
    func nodesFindingEachOtherAlwaysMeet(count: Int, scanAfterStart: Bool) {
        let ids = ["a", "b", "c", "d"].prefix(count).map { $0 }
        var random = SplitMix64(seed: 2026)
        var failures: [String] = []
        for trial in 0..<2000 {
            var network = Network(nodes: ids, scanAfterStart: scanAfterStart)
            var steps = 0
            while !network.events.isEmpty, steps < 10_000 {
                let event = network.events.remove(at: random.index(below: network.events.count))
                network.perform(event)
                steps += 1
            }
            for id in ids {
                for origin in ids where origin != id && !network.knows(id, of: origin) {
                    failures.append("trial \(trial): \(id) lacks \(origin)")
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) misses, first: \(failures.prefix(3))")
    }
}
