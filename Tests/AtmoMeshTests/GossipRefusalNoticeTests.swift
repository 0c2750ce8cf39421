import AtmoProtocol
import Testing

@testable import AtmoMesh

/// A catalog refused for its size is noticed (hostile dec07h F10: it was dropped without a
/// trace, and its node's repositories were "not offered"): once per origin per interval,
/// with its size and the budget, and never more than a few notices per interval in all.
struct GossipRefusalNoticeTests {
    let t0 = MeshFixtures.start

    @Test func aCatalogOverTheOriginBudgetIsNoticedWithItsSizeAndTheBudget() throws {
        var node = GossipBudgetTests.node(total: 1 << 20, perOrigin: 32 << 10, perSender: 1 << 20)
        let big = GossipBudgetTests.catalog("big", kilobytes: 40, at: t0)
        #expect(node.receive(big, from: nil, senderKey: "10.0.0.9", now: t0).learned.isEmpty)
        let notices = node.takeRefusalNotices()
        try #require(notices.count == 1)
        #expect(notices[0].origin == "big")
        #expect(notices[0].reason == .overOriginBudget)
        #expect(notices[0].budget == 32 << 10)
        #expect(notices[0].bytes == big.withGossipHops(nil).heldSize)
        #expect(notices[0].sender == "10.0.0.9")
        #expect(notices[0].summary.contains("big") && notices[0].summary.contains("\(32 << 10) bytes"))
        #expect(node.takeRefusalNotices().isEmpty, "taken once")
        #expect(node.refusalCounts[.overOriginBudget] == 1)
    }

    @Test func theSameOriginIsNoticedOncePerInterval() {
        var node = GossipBudgetTests.node(total: 1 << 20, perOrigin: 32 << 10, perSender: 1 << 20)
        var noticed = 0
        // Every 30 s a newer oversized catalog of the same origin, for 25 minutes.
        for step in 0..<50 {
            let now = t0 + Int64(step) * 30_000
            _ = node.receive(GossipBudgetTests.catalog("big", kilobytes: 40, at: now), from: nil, now: now)
            noticed += node.takeRefusalNotices().count
        }
        #expect(noticed == 3, "at 0, 10 and 20 minutes")
        #expect(node.refusalCounts[.overOriginBudget] == 50)
    }

    @Test func manyOriginsMakeAFewNoticesNotAFlood() {
        var node = GossipBudgetTests.node(total: 1 << 20, perOrigin: 32 << 10, perSender: 1 << 20)
        var notices: [CatalogRefusal] = []
        for index in 0..<200 {
            _ = node.receive(GossipBudgetTests.catalog("big-\(index)", kilobytes: 40, at: t0), from: nil, now: t0 + Int64(index))
            notices += node.takeRefusalNotices()
        }
        #expect(notices.count == CatalogRefusalNotices.maxPerInterval)
        // The next interval's first notice counts the ones left out.
        let later = t0 + CatalogRefusalNotices.interval + 1000
        _ = node.receive(GossipBudgetTests.catalog("big-next", kilobytes: 40, at: later), from: nil, now: later)
        let next = node.takeRefusalNotices()
        #expect(next.map(\.unnoticedBefore) == [200 - CatalogRefusalNotices.maxPerInterval])
    }

    /// What the node remembers (its peers view, a pull's hint) is every refusal, not only the
    /// few noticed: the latest `maxKept` since the last take.
    @Test func everyRefusalIsTakenForTheNodesMemoryNoticedOrNot() {
        var node = GossipBudgetTests.node(total: 1 << 20, perOrigin: 32 << 10, perSender: 1 << 20)
        for index in 0..<40 {
            _ = node.receive(GossipBudgetTests.catalog("big-\(index)", kilobytes: 40, at: t0), from: nil, now: t0 + Int64(index))
        }
        #expect(node.takeRefusalNotices().count == CatalogRefusalNotices.maxPerInterval)
        #expect(node.takeRefusals().map(\.origin) == (0..<40).map { "big-\($0)" })
        #expect(node.takeRefusals().isEmpty, "taken once")
        // More than are kept between two takes: the latest stay.
        let extra = CatalogRefusalNotices.maxKept + 10
        for index in 0..<extra {
            _ = node.receive(GossipBudgetTests.catalog("more-\(index)", kilobytes: 40, at: t0), from: nil, now: t0 + 100 + Int64(index))
        }
        let kept = node.takeRefusals()
        #expect(kept.count == CatalogRefusalNotices.maxKept)
        #expect(kept.first?.origin == "more-10" && kept.last?.origin == "more-\(extra - 1)")
    }

    @Test func aPullAnswerOverTheOriginBudgetIsNoticedToo() {
        var node = GossipBudgetTests.node(total: 1 << 20, perOrigin: 32 << 10, perSender: 1 << 20)
        _ = node.receivePull([GossipBudgetTests.catalog("big", kilobytes: 40, at: t0)], from: "peer-x", now: t0)
        let notices = node.takeRefusalNotices()
        #expect(notices.map(\.reason) == [.overOriginBudget])
        #expect(notices.first?.sender == GossipState<String>.pullSender("peer-x"))
    }

    /// Review dec08: the sender's own catalog could go to keep it within its share, but the
    /// rest are direct origins a learned catalog may not push out. The refusal is for the
    /// total (`no_room`), not the sender's share (it was named `over_sender_budget`).
    @Test func aRefusalForTheTotalIsNotNamedTheSendersShare() throws {
        // (A sender's budget is at least one origin's: `GossipConfiguration` raises it.)
        var node = GossipBudgetTests.node(total: 100 << 10, perOrigin: 40 << 10, perSender: 40 << 10, peers: ["d1", "d2"])
        _ = node.receive(GossipBudgetTests.catalog("d1", kilobytes: 35, at: t0), from: nil, senderKey: "a", now: t0)
        _ = node.receive(GossipBudgetTests.catalog("d2", kilobytes: 35, at: t0), from: nil, senderKey: "b", now: t0)
        _ = node.receive(GossipBudgetTests.catalog("old", kilobytes: 20, at: t0), from: nil, senderKey: "c", now: t0)
        try #require(node.catalog(of: "d1") != nil && node.catalog(of: "d2") != nil && node.catalog(of: "old") != nil)
        #expect(node.takeRefusalNotices().isEmpty)
        // Its share: dropping "old" makes room. The total: still 5 KiB over, and only direct ones left.
        let new = GossipBudgetTests.catalog("new", kilobytes: 35, at: t0 + 1)
        #expect(node.receive(new, from: nil, senderKey: "c", now: t0 + 1).learned.isEmpty)
        #expect(node.catalog(of: "old") != nil, "nothing goes for a refused catalog")
        let notices = node.takeRefusalNotices()
        #expect(notices.map(\.reason) == [.noRoom])
        #expect(notices.first?.budget == 100 << 10)
        #expect(node.refusalCounts[.noRoom] == 1 && node.refusalCounts[.overSenderBudget] == nil, "\(node.refusalCounts)")
    }

    /// The sender's share is named when it is what refused: its own catalogs that could go
    /// are not enough (a direct origin's it delivered stays for a learned one).
    @Test func aRefusalForTheSendersShareIsNamedSo() throws {
        var node = GossipBudgetTests.node(total: 1 << 20, perOrigin: 40 << 10, perSender: 40 << 10, peers: ["d1"])
        _ = node.receive(GossipBudgetTests.catalog("d1", kilobytes: 30, at: t0), from: nil, senderKey: "c", now: t0)
        try #require(node.catalog(of: "d1") != nil)
        #expect(node.receive(GossipBudgetTests.catalog("new", kilobytes: 20, at: t0), from: nil, senderKey: "c", now: t0).learned.isEmpty)
        let notices = node.takeRefusalNotices()
        #expect(notices.map(\.reason) == [.overSenderBudget])
        #expect(notices.first?.budget == 40 << 10)
        #expect(notices.first?.sender == "c")
    }

    @Test func aCatalogTakenWithEntriesRefusedIsNoticed() throws {
        var node = GossipBudgetTests.node(total: 1 << 20, perOrigin: 32 << 10, perSender: 1 << 20)
        var catalog = GossipBudgetTests.catalog("many", kilobytes: 1, at: t0)
        // As decoding leaves them: a repository of too many files, with a line break in it.
        catalog.rejectedModels = [
            WireError(.tooLarge, "repositories[0].files: more than 4096 elements\nforged line"),
            WireError(.invalidValue, "models[3].sha256: x"),
        ]
        #expect(node.receive(catalog, from: nil, now: t0).learned.count == 1, "the catalog itself is taken")
        let notices = node.takeRefusalNotices()
        try #require(notices.count == 1)
        #expect(notices[0].reason == .entriesRefused && notices[0].entries == 2)
        #expect(notices[0].summary.contains("more than 4096 elements"), "\(notices[0].summary)")
        #expect(!notices[0].summary.contains("\n"), "\(notices[0].summary)")
        // Its next publication, a minute later: not noticed again within the interval.
        catalog.timestamp = t0 + 60_000
        _ = node.receive(catalog, from: nil, now: t0 + 60_000)
        #expect(node.takeRefusalNotices().isEmpty)
    }
}
