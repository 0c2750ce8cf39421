import AtmoProtocol
import Testing

@testable import AtmoMesh

/// The answer to an introduction (a catalog straight from its origin) is decided on this
/// node's clock alone and limited per address: a catalog's timestamp is the origin's clock,
/// and its address is only what the catalog claims. No I/O.
struct GossipIntroductionTests {
    let t0 = MeshFixtures.start
    static let victim = "http://victim.lan:14750"

    /// A started node whose peers are the `transfer_endpoints.http` catalogs claim, as in
    /// the node.
    func nodeAddressedByEndpoint() -> GossipState<String> {
        var node = GossipState<String>(
            nodeID: "self", nodeName: "name-self", transferEndpoints: .init(http: "http://self.lan:14750"),
            models: [MeshFixtures.entry("own-model")], random: SplitMix64(seed: 3),
            peerAddress: { $0.transferEndpoints.http })
        _ = node.start(now: t0)
        return node
    }

    /// A LAN host posts tiny catalogs of made-up origins, stamped minutes ahead, each
    /// claiming the victim's address: the victim gets this node's catalog once per interval,
    /// not once per made-up origin.
    @Test func madeUpOriginsClaimingOneAddressGetOnePushPerInterval() {
        var node = nodeAddressedByEndpoint()
        let interval = GossipConfiguration().introductionAnswerIntervalMs
        func flood(_ count: Int, from start: Int64, tag: String) -> Int {
            var pushed = 0
            for index in 0..<count {
                let now = start + Int64(index) * 100
                let fake = MeshFixtures.catalog("fake-\(tag)-\(index)", at: now + 540_000, hops: 0, http: Self.victim)
                let actions = node.receive(fake, from: nil, senderKey: "10.0.0.66", now: now)
                pushed += actions.pushes.filter { $0.peer == Self.victim && $0.catalog.nodeID == "self" }.count
            }
            return pushed
        }
        // 100 catalogs within 10 s: one push.
        #expect(flood(100, from: t0 + 1, tag: "a") == 1)
        // Once the interval has passed since that push: one more, not one per catalog.
        #expect(flood(100, from: t0 + 1 + interval, tag: "b") == 1)
    }

    /// An origin whose clock is minutes behind this node's restarts a minute after it was
    /// sent this node's catalog: its introduction is answered (its timestamp is before
    /// the time of that send, which says nothing).
    @Test func restartedOriginWithAClockBehindIsAnswered() {
        var node = MeshFixtures.node("self")
        _ = node.start(now: t0)
        let behind: Int64 = 300_000
        let first = node.receive(MeshFixtures.catalog("x", at: t0 - behind, hops: 0), from: nil, now: t0 + 1)
        #expect(first.pushes.filter { $0.catalog.nodeID == "self" }.map(\.peer) == ["peer-x"])
        // x restarts (forgets everything) and introduces itself again a minute later.
        let later = t0 + 60_000
        let again = node.receive(MeshFixtures.catalog("x", at: later - behind, hops: 0), from: nil, now: later)
        #expect(again.learned.count == 1)
        #expect(again.pushes.filter { $0.catalog.nodeID == "self" }.map(\.peer) == ["peer-x"])
    }

    /// An origin whose clock is minutes ahead is not answered on every catalog it sends:
    /// a second one within the interval is not.
    @Test func originWithAClockAheadIsNotAnsweredEachTime() {
        var node = MeshFixtures.node("self")
        _ = node.start(now: t0)
        let ahead: Int64 = 540_000
        let first = node.receive(MeshFixtures.catalog("x", at: t0 + ahead, hops: 0), from: nil, now: t0 + 1)
        #expect(first.pushes.filter { $0.catalog.nodeID == "self" }.count == 1)
        let second = node.receive(MeshFixtures.catalog("x", at: t0 + ahead + 2_000, hops: 0), from: nil, now: t0 + 2_000)
        #expect(second.learned.count == 1)
        #expect(second.pushes.filter { $0.catalog.nodeID == "self" }.isEmpty)
    }
}
