import AtmoProtocol
import Testing

@testable import AtmoMesh

/// What gossip's byte budgets count is at least the memory a catalog holds, not its JSON
/// text; and the answer to this node's own pull is not held to one sender's share. No I/O.
struct GossipHeldSizeTests {
    let t0 = MeshFixtures.start

    /// A catalog of `origin` whose one entry carries `metadata`.
    static func catalog(_ origin: String, at timestamp: Int64, metadata: [String: JSONValue]) -> ModelCatalog {
        var entry = MeshFixtures.entry("m-\(origin)")
        entry.metadata = metadata
        return MeshFixtures.catalog(origin, at: timestamp, models: [entry])
    }

    static func started(_ configuration: GossipConfiguration = GossipConfiguration()) -> GossipState<String> {
        var node = MeshFixtures.node(configuration: configuration)
        _ = node.start(now: MeshFixtures.start)
        return node
    }

    /// `[{"a":null}, …]`: 12 bytes of JSON an element, but a dictionary (and its slot) in
    /// memory, some 150-180 bytes. The count charges at least that.
    @Test func smallObjectsAreChargedWhatTheyHold() {
        let count = 10_000
        let crafted = Self.catalog(
            "crafted", at: t0, metadata: ["pad": .array(Array(repeating: .object(["a": .null]), count: count))])
        var node = Self.started()
        #expect(node.receive(crafted, from: nil, now: t0).learned.count == 1)
        #expect(node.heldBytes >= count * 180, "counted \(node.heldBytes)")
        // So a budget that its JSON would fit refuses it.
        var small = Self.started(GossipConfiguration(maxBytesPerOrigin: 1 << 20))
        #expect(small.receive(crafted, from: nil, now: t0).learned.isEmpty)
        #expect(small.statistics.refusedForSize == 1)
    }

    /// Empty strings, nulls and empty arrays in arrays: a slot each at least.
    @Test func tinyValuesAreChargedTheirSlots() {
        let count = 10_000
        var node = Self.started()
        let strings = Self.catalog("strings", at: t0, metadata: ["pad": .array(Array(repeating: .string(""), count: count))])
        _ = node.receive(strings, from: nil, now: t0)
        #expect(node.heldBytes >= count * 32, "counted \(node.heldBytes)")
        let before = node.heldBytes
        let arrays = Self.catalog("arrays", at: t0, metadata: ["pad": .array(Array(repeating: .array([.null]), count: count))])
        _ = node.receive(arrays, from: nil, now: t0)
        #expect(node.heldBytes - before >= count * 48, "counted \(node.heldBytes - before)")
    }

    /// The answer to this node's pull may carry the whole mesh: it is held within the total
    /// budget, not cut to one sender's share, and the peer's own pushes afterwards do not
    /// make the pulled catalogs go.
    @Test func pullAnswerIsNotHeldToOneSendersShare() {
        var node = Self.started(
            GossipConfiguration(maxLearnedBytes: 1 << 20, maxBytesPerOrigin: 64 << 10, maxBytesPerSender: 100 << 10))
        let answer = (0..<20).map { GossipBudgetTests.catalog("pulled-\($0)", kilobytes: 20, at: t0) }
        let actions = node.receivePull(answer, from: "peer-p", now: t0 + 1)
        #expect(actions.learned.count == 20)
        #expect(node.heldCatalogCount == 20 && node.statistics.evicted == 0)
        // Unasked pushes by the same peer still get one sender's share, of their own.
        for index in 0..<10 {
            _ = node.receive(
                GossipBudgetTests.catalog("pushed-\(index)", kilobytes: 20, at: t0 + 2), from: "peer-p", now: t0 + 2)
            #expect(node.heldBytes(deliveredBy: "peer-p") <= 100 << 10)
        }
        for index in 0..<20 { #expect(node.catalog(of: "pulled-\(index)") != nil) }
        // The total still holds.
        let more = (20..<80).map { GossipBudgetTests.catalog("pulled-\($0)", kilobytes: 20, at: t0) }
        _ = node.receivePull(more, from: "peer-q", now: t0 + 3)
        #expect(node.heldBytes <= 1 << 20)
    }
}

/// Making room costs a few sorts per bundle, not one sort of every held catalog per
/// admitted catalog (the work ran under the node's lock). No I/O, no timing: the count of
/// computed eviction orders is what is checked.
struct GossipEvictionCostTests {
    let t0 = MeshFixtures.start

    @Test func aBundleOverTheBudgetSortsAFewTimes() {
        var node = MeshFixtures.node(
            configuration: GossipConfiguration(maxLearnedBytes: 1 << 20, maxBytesPerOrigin: 64 << 10, maxBytesPerSender: 1 << 20))
        _ = node.start(now: t0)
        let bundle = (0..<2000).map { GossipBudgetTests.catalog("b-\($0)", kilobytes: 4, at: t0) }
        let actions = node.receivePull(bundle, from: "peer-p", now: t0 + 1)
        #expect(actions.learned.count == 2000)
        #expect(node.heldBytes <= 1 << 20)
        #expect(node.heldCatalogCount > 150, "held \(node.heldCatalogCount)")
        // About one computation per budget's worth of catalogs (here ~200 of them).
        #expect(node.evictionOrderBuilds <= 20, "computed \(node.evictionOrderBuilds) times")
        // The latest are the ones held (every older one went first, equal in size).
        #expect(node.catalog(of: "b-1999") != nil)
    }
}
