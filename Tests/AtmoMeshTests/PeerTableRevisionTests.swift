import Testing

@testable import AtmoMesh

/// The peer table's revision (what `/v1/events` turns into `mesh` events) does not move
/// every time a quiet peer's catalog is heard again: its last-seen time alone moves it at
/// most once per `lastSeenRefreshMs`.
struct PeerTableRevisionTests {
    static let now: Int64 = 1_760_000_000_000
    static let url = "http://10.0.0.2:14750"

    @Test func aQuietPeerHeardEverySecondMovesTheRevisionAtMostOncePerRefresh() {
        var peers = PeerTable(ownNodeID: "self")
        _ = peers.learned(nodeID: "b", nodeName: "bee", httpURL: Self.url, websocket: false, now: Self.now)
        _ = peers.relayPresent(nodeID: "c", name: "sea", relay: "ws://relay", now: Self.now)
        let start = peers.revision
        var bumps = 0
        var last = start
        // Five minutes of a quiet mesh: both peers heard again each second.
        for second in 1...300 {
            let now = Self.now + Int64(second) * 1000
            _ = peers.learned(nodeID: "b", nodeName: "bee", httpURL: Self.url, websocket: false, now: now)
            _ = peers.relayPresent(nodeID: "c", name: "sea", relay: "ws://relay", now: now)
            if peers.revision != last { bumps += 1 }
            last = peers.revision
        }
        #expect(bumps <= Int(300_000 / PeerTable.lastSeenRefreshMs) + 1, "\(bumps) revisions in 300 s")
        #expect(bumps >= 1, "last_seen still refreshes now and then")
        #expect(peers["b"]?.stats.lastSeenMs == Self.now + 300_000, "the time itself is kept")
    }

    @Test func anythingElseThePeersViewShowsStillMovesTheRevision() {
        var peers = PeerTable(ownNodeID: "self")
        _ = peers.learned(nodeID: "b", nodeName: "bee", httpURL: Self.url, websocket: false, now: Self.now)
        var before = peers.revision
        _ = peers.learned(nodeID: "b", nodeName: "bee 2", httpURL: Self.url, websocket: false, now: Self.now + 1)
        #expect(peers.revision != before, "a new name")
        before = peers.revision
        _ = peers.learned(nodeID: "b", nodeName: "bee 2", httpURL: Self.url, websocket: true, now: Self.now + 2)
        #expect(peers.revision != before, "a WebSocket now")
        before = peers.revision
        _ = peers.relayPresent(nodeID: "b", name: "bee 2", relay: "ws://relay", now: Self.now + 3)
        #expect(peers.revision != before, "a relay route now")
        before = peers.revision
        _ = peers.learned(nodeID: "d", nodeName: "dee", httpURL: nil, websocket: false, now: Self.now + 4)
        #expect(peers.revision != before, "a new peer")
    }
}
