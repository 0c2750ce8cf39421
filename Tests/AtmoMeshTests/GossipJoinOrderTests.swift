import AtmoProtocol
import Testing

@testable import AtmoMesh

/// Issue 14: a configured peer's catalog went missing from a newcomer's view until the
/// peer's periodic re-publish. These replay the message orders of a newcomer D that knows
/// A, B and C (which know nobody), with no tick, so nothing is re-published.
struct GossipJoinOrderTests {
    let t0 = MeshFixtures.start

    /// Nodes with their pending messages, delivered in the order a test chooses. Like the
    /// node layer, a push arrives without a known sender; a pull is answered at delivery.
    struct Network {
        var nodes: [String: GossipState<String>] = [:]
        var queue: [(from: String, action: GossipAction<String>)] = []
        var now: Int64

        mutating func add(_ id: String, peers: [String] = []) {
            var node = MeshFixtures.node(id, seed: UInt64(nodes.count + 1))
            queue += node.start(now: now).map { (id, $0) }
            for peer in peers { queue += node.peerDiscovered(MeshFixtures.peer(peer), now: now).map { (id, $0) } }
            nodes[id] = node
        }

        static func id(of peer: String) -> String { String(peer.dropFirst("peer-".count)) }

        /// Delivers the first queued message matching `matching`.
        mutating func deliver(where matching: (String, GossipAction<String>) -> Bool) {
            guard let index = queue.firstIndex(where: { matching($0.from, $0.action) }) else {
                Issue.record("no such message queued")
                return
            }
            let (from, action) = queue.remove(at: index)
            now += 1
            switch action {
            case .push(let catalog, let peer):
                queue += nodes[Self.id(of: peer)]!.receive(catalog, from: nil, now: now).map { (Self.id(of: peer), $0) }
            case .pull(let peer):
                let answer = nodes[Self.id(of: peer)]!.catalogsForPull(now: now)
                queue += nodes[from]!.receivePull(answer, from: peer, now: now).map { (from, $0) }
            case .learned, .forgot:
                break
            }
        }

        mutating func drain() {
            var steps = 0
            while !queue.isEmpty, steps < 10_000 {
                deliver { _, _ in true }
                steps += 1
            }
        }

        func knows(_ id: String, of origin: String) -> Bool {
            nodes[id]!.freshCatalogs(now: now).contains { $0.nodeID == origin }
        }
    }

    func newcomerWithThreeLoners() -> Network {
        var network = Network(now: t0)
        for id in ["a", "b", "c"] { network.add(id) }
        network.drain()
        network.now += 10_000
        network.add("d", peers: ["a", "b", "c"])
        return network
    }

    /// The losing order: B hears of D by D's push and pulls D before D has learned anything.
    /// B's follow-up push of its own catalog used to leave out D, the peer it had just
    /// pulled from, and D was B's only peer.
    @Test func lonerThatPullsTheNewcomerFirstStillReachesIt() {
        var network = newcomerWithThreeLoners()
        let introduction = GossipAction<String>.push(network.nodes["d"]!.ownCatalog.withGossipHops(0), to: "peer-b")
        network.deliver { from, action in from == "d" && action == introduction }
        network.deliver { from, action in from == "b" && action == .pull(from: "peer-d") }
        network.drain()
        for origin in ["a", "b", "c"] {
            #expect(network.knows("d", of: origin), "d lacks \(origin)'s catalog")
            #expect(network.knows(origin, of: "d"))
        }
    }

    /// Random delivery orders (seeded, so each replays): D always ends up with all three
    /// configured peers' catalogs, and they with D's, without any re-publication.
    @Test func randomOrdersAlwaysReachTheNewcomer() {
        let base = newcomerWithThreeLoners()
        var random = SplitMix64(seed: 14)
        for trial in 0..<300 {
            var network = base
            var steps = 0
            while !network.queue.isEmpty, steps < 10_000 {
                let pick = random.index(below: network.queue.count)
                let chosen = network.queue.remove(at: pick)
                network.queue.insert(chosen, at: 0)
                network.deliver { _, _ in true }
                steps += 1
            }
            for origin in ["a", "b", "c"] {
                #expect(network.knows("d", of: origin), "trial \(trial): d lacks \(origin)")
                #expect(network.knows(origin, of: "d"), "trial \(trial): \(origin) lacks d")
            }
        }
    }

    /// A node whose only peer contacts it first: the peer's catalog arrives at once.
    @Test func nodeWhoseOnlyPeerContactsItFirst() {
        var network = Network(now: t0)
        network.add("x")
        network.drain()
        network.now += 5_000
        network.add("y", peers: ["x"])
        network.drain()
        #expect(network.knows("y", of: "x"))
        #expect(network.knows("x", of: "y"))
    }

    /// A configured peer that already had joined (its pull is done) and knows other nodes
    /// still sends its catalog to a newcomer that introduces itself, also after a restart.
    @Test func settledPeerAnswersAnIntroduction() {
        var network = Network(now: t0)
        network.add("p")
        network.add("q", peers: ["p"])
        network.drain()
        #expect(network.knows("p", of: "q") && network.knows("q", of: "p"))
        for round in 0..<2 {
            // "n" joins knowing only q (then restarts: same id, fresh state).
            network.now += 60_000
            network.nodes["n"] = nil
            network.add("n", peers: ["q"])
            // Its join pull fails (say q was busy): only its push reaches q.
            network.queue.removeAll { $0.from == "n" && $0.action == .pull(from: "peer-q") }
            network.drain()
            #expect(network.knows("n", of: "q"), "round \(round)")
        }
    }

    /// Introductions are answered once: a node does not answer the same origin twice within
    /// `introductionAnswerIntervalMs`, and the pull follow-up skips peers that hold it.
    @Test func answersAreNotRepeated() {
        var node = MeshFixtures.node("self")
        _ = node.start(now: t0)
        let first = node.receive(MeshFixtures.catalog("x", at: t0, hops: 0), from: nil, now: t0 + 1)
        #expect(first.pushes.map(\.peer) == ["peer-x"])
        // The answer is for x only: a last-hop copy, which x learns without relaying it.
        #expect(first.pushes.first?.catalog.gossipHops == GossipConfiguration().hopLimit - 1)
        #expect(first.pulls == ["peer-x"])
        // A newer catalog of x made before x was sent this node's: no second answer.
        let again = node.receive(MeshFixtures.catalog("x", at: t0 + 1, hops: 0), from: nil, now: t0 + 6)
        #expect(again.learned.count == 1 && again.pushes.filter { $0.catalog.nodeID == "self" }.isEmpty)
        // x's pull answer lacks this node's catalog, but x was already sent it.
        let answer = node.receivePull([MeshFixtures.catalog("x", at: t0 + 5)], from: "peer-x", now: t0 + 7)
        #expect(answer.pushes.isEmpty)
        // A relayed copy (hops > 0) is no introduction.
        let relayed = node.receive(MeshFixtures.catalog("z", at: t0, hops: 1), from: "peer-x", now: t0 + 8)
        #expect(!relayed.pushes.contains { $0.peer == "peer-z" })
        // x publishes anew once `introductionAnswerIntervalMs` has passed since it was sent
        // this node's catalog: it is answered again (it may have restarted and lost it).
        let later = t0 + 1 + GossipConfiguration().introductionAnswerIntervalMs
        let restarted = node.receive(MeshFixtures.catalog("x", at: later, hops: 0), from: nil, now: later)
        #expect(restarted.pushes.filter { $0.catalog.nodeID == "self" }.map(\.peer) == ["peer-x"])
    }
}
