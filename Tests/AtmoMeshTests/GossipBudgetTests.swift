import AtmoProtocol
import Testing

@testable import AtmoMesh

/// The byte budgets of what gossip holds (issue 9, item 2): in all, per origin and per
/// sender, with the catalogs of direct peers kept first. No I/O.
struct GossipBudgetTests {
    let t0 = MeshFixtures.start

    /// A catalog of `origin` weighing about `kilobytes` KiB.
    static func catalog(_ origin: String, kilobytes: Int, at timestamp: Int64) -> ModelCatalog {
        var entry = MeshFixtures.entry("m-\(origin)")
        entry.metadata = ["pad": .string(String(repeating: "x", count: kilobytes * 1024))]
        return MeshFixtures.catalog(origin, at: timestamp, models: [entry])
    }

    static func node(total: Int, perOrigin: Int, perSender: Int, peers: [String] = []) -> GossipState<String> {
        var node = MeshFixtures.node(
            peers: peers,
            configuration: GossipConfiguration(maxLearnedBytes: total, maxBytesPerOrigin: perOrigin, maxBytesPerSender: perSender))
        _ = node.start(now: MeshFixtures.start)
        return node
    }

    @Test func wireSizeIsCloseToTheEncodedSize() throws {
        for kilobytes in [0, 1, 64] {
            let catalog = Self.catalog("n", kilobytes: kilobytes, at: t0)
            let encoded = try WireCoding.encode(catalog).count
            #expect(abs(catalog.wireSize - encoded) < 300, "estimate \(catalog.wireSize), encoded \(encoded)")
        }
    }

    @Test func catalogLargerThanTheOriginBudgetIsRefused() {
        var node = Self.node(total: 1 << 20, perOrigin: 32 << 10, perSender: 1 << 20)
        #expect(node.receive(Self.catalog("big", kilobytes: 40, at: t0), from: nil, now: t0).learned.isEmpty)
        #expect(node.statistics.refusedForSize == 1)
        #expect(node.receive(Self.catalog("fine", kilobytes: 20, at: t0), from: nil, now: t0).learned.count == 1)
        #expect(node.heldBytes == node.catalog(of: "fine")!.heldSize)
    }

    @Test func floodStaysWithinTheTotalAndKeepsDirectPeersFirst() {
        var node = Self.node(total: 200 << 10, perOrigin: 64 << 10, perSender: 200 << 10, peers: ["friend"])
        _ = node.receive(Self.catalog("friend", kilobytes: 30, at: t0), from: nil, senderKey: "10.0.0.2", now: t0)
        for index in 0..<200 {
            let actions = node.receive(
                Self.catalog("flood-\(index)", kilobytes: 20 + index % 30, at: t0), from: nil, senderKey: "10.0.0.\(index % 50 + 3)",
                now: t0 + Int64(index))
            #expect(node.heldBytes <= 200 << 10)
            #expect(!actions.forgotten.contains("friend"))
        }
        #expect(node.catalog(of: "friend") != nil)
        #expect(node.statistics.evicted > 100)
        // The held catalogs add up to what is counted.
        let held = node.freshCatalogs(now: t0 + 1000).filter { $0.nodeID != "self" }
        #expect(held.reduce(0) { $0 + $1.heldSize } == node.heldBytes)
    }

    @Test func oneSenderCannotTakeMoreThanItsShare() {
        var node = Self.node(total: 1 << 20, perOrigin: 64 << 10, perSender: 100 << 10)
        for index in 0..<5 {
            _ = node.receive(Self.catalog("honest-\(index)", kilobytes: 10, at: t0), from: nil, senderKey: "honest-\(index)", now: t0)
        }
        for index in 0..<100 {
            _ = node.receive(Self.catalog("sybil-\(index)", kilobytes: 20, at: t0), from: nil, senderKey: "attacker", now: t0 + 1)
            #expect(node.heldBytes(deliveredBy: "attacker") <= 100 << 10)
        }
        for index in 0..<5 { #expect(node.catalog(of: "honest-\(index)") != nil) }
        // The answer to this node's own pull is not held to a sender's share
        // (GossipHeldSizeTests.pullAnswerIsNotHeldToOneSendersShare).
    }

    @Test func aLearnedOriginNeverPushesOutADirectOne() {
        var node = Self.node(total: 100 << 10, perOrigin: 60 << 10, perSender: 100 << 10, peers: ["d1", "d2"])
        _ = node.receive(Self.catalog("d1", kilobytes: 45, at: t0), from: nil, senderKey: "a", now: t0)
        _ = node.receive(Self.catalog("d2", kilobytes: 45, at: t0), from: nil, senderKey: "b", now: t0)
        let learned = node.receive(Self.catalog("stranger", kilobytes: 20, at: t0), from: nil, senderKey: "c", now: t0)
        #expect(learned.learned.isEmpty)
        #expect(node.catalog(of: "d1") != nil && node.catalog(of: "d2") != nil)
        #expect(node.statistics.refusedForSize == 1)
        // A newer catalog of a direct origin replaces its own bytes, and fits.
        let refreshed = node.receive(Self.catalog("d1", kilobytes: 50, at: t0 + 1), from: nil, senderKey: "a", now: t0 + 1)
        #expect(refreshed.learned.count == 1)
        #expect(node.heldBytes <= 100 << 10)
    }

    @Test func expiryAndGoodbyeGiveTheBytesBack() {
        var node = Self.node(total: 1 << 20, perOrigin: 64 << 10, perSender: 1 << 20)
        _ = node.receive(Self.catalog("a", kilobytes: 10, at: t0), from: nil, senderKey: "s", now: t0)
        _ = node.receive(Self.catalog("b", kilobytes: 10, at: t0), from: nil, senderKey: "s", now: t0)
        _ = node.nodeDeparted(nodeID: "a", peer: nil, now: t0 + 1)
        #expect(node.heldBytes == node.catalog(of: "b")!.heldSize)
        _ = node.tick(now: t0 + 301_000)
        #expect(node.heldBytes == 0 && node.heldBytes(deliveredBy: "s") == 0)
    }
}
