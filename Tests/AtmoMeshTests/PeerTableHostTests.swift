import Testing

@testable import AtmoMesh

/// `PeerTable.nodeIDsByUniqueHost`: which peer a client's address is (the `peer` label of
/// the bytes served over HTTP), only when one peer alone serves on that host.
struct PeerTableHostTests {
    static let now: Int64 = 1_760_000_000_000

    @Test func hostsOfBaseURLs() {
        #expect(PeerTable.host(ofBaseURL: "http://10.0.0.2:14750") == "10.0.0.2")
        #expect(PeerTable.host(ofBaseURL: "http://10.0.0.2") == "10.0.0.2")
        #expect(PeerTable.host(ofBaseURL: "https://Kitchen.Local:8/") == "kitchen.local")
        #expect(PeerTable.host(ofBaseURL: "http://[FE80::1]:80/x") == "fe80::1")
        #expect(PeerTable.host(ofBaseURL: "http://[::ffff:10.0.0.9]:80") == "10.0.0.9")
        #expect(PeerTable.host(ofBaseURL: "http://user@10.0.0.3:1") == "10.0.0.3")
        #expect(PeerTable.host(ofBaseURL: "10.0.0.4:1") == "10.0.0.4")
        for bad in ["", "http://", "http://[::1", "http://:80"] {
            #expect(PeerTable.host(ofBaseURL: bad) == nil, "\(bad)")
        }
        #expect(PeerTable.normalizedHost("::FFFF:127.0.0.1") == "127.0.0.1")
        #expect(PeerTable.normalizedHost("::ffff:abcd") == "::ffff:abcd")
    }

    @Test func onlyAHostWithOnePeerNamesIt() {
        var peers = PeerTable(ownNodeID: "self")
        _ = peers.learned(nodeID: "a", nodeName: "ay", httpURL: "http://10.0.0.2:14750", websocket: false, now: Self.now)
        _ = peers.learned(nodeID: "b", nodeName: "bee", httpURL: "http://127.0.0.1:1", websocket: false, now: Self.now)
        _ = peers.learned(nodeID: "c", nodeName: "cee", httpURL: "http://127.0.0.1:2", websocket: false, now: Self.now)
        _ = peers.learned(nodeID: "r", nodeName: "relayed", httpURL: nil, websocket: false, now: Self.now)
        #expect(peers.nodeIDsByUniqueHost == ["10.0.0.2": "a"])
        // c moves to another machine: 127.0.0.1 is b's alone.
        _ = peers.learned(nodeID: "c", nodeName: "cee", httpURL: "http://[fd00::3]:2", websocket: false, now: Self.now)
        #expect(peers.nodeIDsByUniqueHost == ["10.0.0.2": "a", "127.0.0.1": "b", "fd00::3": "c"])
    }
}
