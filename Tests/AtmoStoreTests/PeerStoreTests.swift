import AtmoTesting
import Foundation
import Testing

@testable import AtmoStore

struct PeerStoreTests {
    func record(_ id: String, seen: Int64 = 1_000, source: PeerRecord.Source = .mdns) -> PeerRecord {
        PeerRecord(
            nodeID: id, nodeName: "name-\(id)", httpURL: "http://\(id).lan:14750", websocket: true, latencyMs: 2.5,
            activeTransfers: 3, reliability: 0.81, lastSeenMs: seen, source: source)
    }

    @Test func peersSaveLoadReplaceAndDelete() throws {
        let database = try StateDatabase()
        #expect(try database.peer(nodeID: "a") == nil)
        let saved = record("a")
        try database.savePeer(saved)
        #expect(try database.peer(nodeID: "a") == saved)

        var updated = saved
        updated.reliability = 0.9
        updated.latencyMs = nil
        updated.activeTransfers = nil
        updated.httpURL = nil
        updated.source = .gossip
        try database.savePeer(updated)
        #expect(try database.peer(nodeID: "a") == updated)
        #expect(try database.allPeers().count == 1)

        #expect(try database.deletePeer(nodeID: "a"))
        #expect(try !database.deletePeer(nodeID: "a"))
        #expect(try database.allPeers().isEmpty)
    }

    @Test func allPeersMostRecentlySeenFirst() throws {
        let database = try StateDatabase()
        try database.savePeers([record("b", seen: 5), record("a", seen: 5), record("c", seen: 9)])
        #expect(try database.allPeers().map(\.nodeID) == ["c", "a", "b"])
        #expect(try database.deletePeers(lastSeenBefore: 6) == 2)
        #expect(try database.allPeers().map(\.nodeID) == ["c"])
    }

    @Test func outOfRangeMeasurementsAreStoredSanely() throws {
        let database = try StateDatabase()
        var odd = record("x", source: .configured)
        odd.reliability = 7
        odd.latencyMs = .infinity
        try database.savePeer(odd)
        let loaded = try #require(try database.peer(nodeID: "x"))
        #expect(loaded.reliability == 1)
        #expect(loaded.latencyMs == nil)
        #expect(loaded.source == .configured && loaded.source.rawValue == "static")
    }

    @Test func peersSurviveReopeningTheFile() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.sub("state/atmo.sqlite")
        try StateDatabase(path: path).savePeer(record("kept", source: PeerRecord.Source(rawValue: "relay")))
        let reopened = try StateDatabase(path: path)
        let loaded = try #require(try reopened.peer(nodeID: "kept"))
        #expect(loaded == record("kept", source: PeerRecord.Source(rawValue: "relay")))
    }
}
