import Testing

@testable import AtmoMesh

/// The peer table's rules, without I/O: events in, actions out.
struct PeerTableTests {
    static let now: Int64 = 1_760_000_000_000
    static let url = "http://10.0.0.2:14750"

    func table(capacity: Int = 2048) -> PeerTable { PeerTable(ownNodeID: "self", capacity: capacity) }

    func health(_ nodeID: String, name: String = "") -> PeerTable.Health { PeerTable.Health(nodeID: nodeID, nodeName: name) }

    // MARK: - Relay peers and their HTTP endpoint (issue 9, item 13)

    @Test func aPeerMetThroughARelayIsProbedAtOnceAndItsEndpointCountsOnlyOnceItAnswers() {
        var peers = table()
        #expect(peers.relayPresent(nodeID: "b", name: "bee", relay: "ws://relay", now: Self.now).isEmpty)  // no endpoint yet
        #expect(peers["b"]?.stats.transports == ["relay"])
        // Its catalog names an endpoint: probe it now, once.
        #expect(peers.learned(nodeID: "b", nodeName: "bee", httpURL: Self.url, websocket: true, now: Self.now) == [.probe(Self.url)])
        #expect(peers.learned(nodeID: "b", nodeName: "bee", httpURL: Self.url, websocket: true, now: Self.now + 1).isEmpty)
        #expect(peers["b"]?.stats.hasDirectHTTP == false)
        #expect(peers["b"]?.stats.transports == ["relay"])
        // The probe answers: HTTP (and its WebSocket) first.
        #expect(peers.probeSucceeded(Self.url, health: health("b"), latencyMs: 2, now: Self.now + 2).isEmpty)
        #expect(peers["b"]?.stats.transports == ["http", "websocket", "relay"])
        // It fails: the relay only, and the peer stays while the relay has it.
        for step in 1...5 { #expect(peers.probeFailed(Self.url, now: Self.now + 2 + Int64(step)).isEmpty) }
        #expect(peers["b"]?.stats.transports == ["relay"])
        // A new address is unproven again, and probed again.
        #expect(
            peers.learned(nodeID: "b", nodeName: "bee", httpURL: "http://10.0.0.3:1", websocket: true, now: Self.now + 9)
                == [.probe("http://10.0.0.3:1")])
    }

    @Test func aPeerWithoutARelayKeepsItsUnprovenEndpointAsADirectRoute() {
        var peers = table()
        #expect(peers.learned(nodeID: "c", nodeName: "sea", httpURL: Self.url, websocket: false, now: Self.now).isEmpty)
        #expect(peers["c"]?.stats.transports == ["http"])
        #expect(peers["c"]?.origin == .gossip)
    }

    @Test func leavingTheLastRelayKeepsOnlyAPeerWhoseEndpointAnswers() {
        var peers = table()
        _ = peers.relayPresent(nodeID: "b", name: "bee", relay: "ws://one", now: Self.now)
        _ = peers.relayPresent(nodeID: "b", name: "bee", relay: "ws://two", now: Self.now)
        _ = peers.learned(nodeID: "b", nodeName: "bee", httpURL: Self.url, websocket: false, now: Self.now)
        #expect(peers.relayGone(nodeID: "b", relay: "ws://one", now: Self.now).isEmpty)
        #expect(peers["b"]?.stats.relayed == true)
        // Unproven endpoint, last relay gone: departed.
        #expect(peers.relayGone(nodeID: "b", relay: "ws://two", now: Self.now) == [.departed(nodeID: "b", url: Self.url)])
        #expect(peers["b"] == nil)

        _ = peers.relayPresent(nodeID: "d", name: "dee", relay: "ws://one", now: Self.now)
        _ = peers.learned(nodeID: "d", nodeName: "dee", httpURL: "http://10.0.0.4:1", websocket: false, now: Self.now)
        _ = peers.probeSucceeded("http://10.0.0.4:1", health: health("d"), latencyMs: 1, now: Self.now)
        #expect(peers.relayGone(nodeID: "d", relay: "ws://one", now: Self.now).isEmpty)
        #expect(peers["d"]?.stats.transports == ["http"])
        // A relay it was never on changes nothing.
        #expect(peers.relayGone(nodeID: "d", relay: "ws://other", now: Self.now).isEmpty)
    }

    // MARK: - Probes

    @Test func threeFailedProbesInARowMakeAPeerGoneAndAConfiguredOnePendingAgain() {
        var peers = table()
        #expect(peers.discovered(Self.url, origin: .configured) == [.gossipWith(Self.url)])
        #expect(peers.probeTargets == [Self.url])
        #expect(peers.probeSucceeded(Self.url, health: health("b", name: "bee"), latencyMs: 3, now: Self.now) == [.gossipWith(Self.url)])
        #expect(peers.pending.isEmpty && peers["b"]?.origin == .configured && peers["b"]?.stats.latencyMs == 3)
        #expect(peers.probeFailed(Self.url, now: Self.now).isEmpty)
        #expect(peers.probeFailed(Self.url, now: Self.now).isEmpty)
        #expect(peers["b"]?.stats.httpFailing == true)
        #expect(peers.probeFailed(Self.url, now: Self.now) == [.departed(nodeID: "b", url: Self.url)])
        #expect(peers["b"] == nil)
        #expect(peers.pending[Self.url]?.origin == .configured)

        // A gossip peer is simply gone.
        _ = peers.learned(nodeID: "g", nodeName: "gee", httpURL: "http://10.0.0.9:1", websocket: false, now: Self.now)
        for _ in 1...2 { #expect(peers.probeFailed("http://10.0.0.9:1", now: Self.now).isEmpty) }
        #expect(peers.probeFailed("http://10.0.0.9:1", now: Self.now) == [.departed(nodeID: "g", url: "http://10.0.0.9:1")])
        #expect(peers.pending["http://10.0.0.9:1"] == nil)
    }

    @Test func anAnswerResetsTheFailureCount() {
        var peers = table()
        _ = peers.learned(nodeID: "b", nodeName: "bee", httpURL: Self.url, websocket: false, now: Self.now)
        _ = peers.probeFailed(Self.url, now: Self.now)
        _ = peers.probeFailed(Self.url, now: Self.now)
        _ = peers.probeSucceeded(Self.url, health: health("b"), latencyMs: 1, now: Self.now)
        _ = peers.probeFailed(Self.url, now: Self.now)
        #expect(peers.probeFailed(Self.url, now: Self.now).isEmpty)
        #expect(peers["b"] != nil)
    }

    @Test func anAddressThatIsThisNodeIsNoPeer() {
        var peers = table()
        _ = peers.discovered(Self.url, origin: .configured)
        #expect(peers.probeSucceeded(Self.url, health: health("self"), latencyMs: 1, now: Self.now) == [.notAPeer(Self.url)])
        #expect(peers.pending.isEmpty && peers.peers.isEmpty)
        #expect(peers.learned(nodeID: "self", nodeName: "me", httpURL: Self.url, websocket: false, now: Self.now).isEmpty)
        #expect(peers.relayPresent(nodeID: "self", name: "me", relay: "ws://r", now: Self.now).isEmpty)
        #expect(peers.peers.isEmpty)
    }

    // MARK: - LAN peers (issue 9, item 14)

    @Test func anOlderNodeWhoseHealthNamesNoNodeIsListedUnderItsTXTNodeID() {
        var peers = table()
        _ = peers.discovered(Self.url, origin: .lan, nodeID: "py-node-1", nodeName: "kitchen", instanceName: "kitchen")
        #expect(peers.probeSucceeded(Self.url, health: health(""), latencyMs: 4, now: Self.now) == [.gossipWith(Self.url)])
        #expect(peers.pending.isEmpty)
        #expect(peers["py-node-1"]?.stats.nodeName == "kitchen")
        #expect(peers["py-node-1"]?.origin == .lan)
        #expect(peers["py-node-1"]?.stats.latencyMs == 4)
        // Without a TXT node id it stays an address.
        _ = peers.discovered("http://10.0.0.7:8000", origin: .lan, instanceName: "old")
        #expect(peers.probeSucceeded("http://10.0.0.7:8000", health: health(""), latencyMs: 4, now: Self.now).isEmpty)
        #expect(peers.pending["http://10.0.0.7:8000"] != nil)
    }

    @Test func aLANGoodbyeRemovesThePeerOfThatInstanceUnlessARelayHasIt() {
        var peers = table()
        _ = peers.discovered(Self.url, origin: .lan, nodeID: "b", nodeName: "vm", instanceName: "vm (2)")
        _ = peers.probeSucceeded(Self.url, health: health("b", name: "vm"), latencyMs: 1, now: Self.now)
        _ = peers.discovered("http://10.0.0.5:1", origin: .lan, nodeID: "c", nodeName: "vm", instanceName: "vm")
        _ = peers.probeSucceeded("http://10.0.0.5:1", health: health("c", name: "vm"), latencyMs: 1, now: Self.now)
        // Two nodes named "vm": the instance name tells them apart.
        #expect(peers.lanLost(instanceName: "vm (2)") == [.departed(nodeID: "b", url: Self.url)])
        #expect(peers["c"] != nil)
        _ = peers.relayPresent(nodeID: "c", name: "vm", relay: "ws://r", now: Self.now)
        #expect(peers.lanLost(instanceName: "vm").isEmpty)
        #expect(peers["c"] != nil)
    }

    // MARK: - Gossip, outcomes, restarts, bounds

    @Test func aPeerKnownOnlyFromGossipGoesWithItsCatalog() {
        var peers = table()
        _ = peers.learned(nodeID: "g", nodeName: "gee", httpURL: Self.url, websocket: false, now: Self.now)
        _ = peers.discovered("http://10.0.0.5:1", origin: .lan)
        _ = peers.learned(nodeID: "l", nodeName: "el", httpURL: "http://10.0.0.5:1", websocket: false, now: Self.now)
        #expect(peers["l"]?.origin == .lan)
        _ = peers.learned(nodeID: "r", nodeName: "ar", httpURL: nil, websocket: false, now: Self.now)
        _ = peers.relayPresent(nodeID: "r", name: "ar", relay: "ws://x", now: Self.now)
        for id in ["g", "l", "r"] { _ = peers.forgotten(nodeID: id) }
        #expect(peers["g"] == nil)
        #expect(peers["l"] != nil && peers["r"] != nil)
    }

    @Test func outcomesMoveReliabilityAndRestoredPeersAreGossipedWith() {
        var peers = table()
        var stats = PeerStats(nodeID: "b", nodeName: "bee", httpURL: Self.url, latencyMs: 5, reliability: 0.5)
        stats.httpReachability = .failing
        stats.relayed = true
        #expect(
            peers.restored([(stats, .lan), (PeerStats(nodeID: "self", nodeName: "me", httpURL: nil), .gossip)]) == [.gossipWith(Self.url)])
        #expect(peers["b"]?.stats.httpReachability == .unknown && peers["b"]?.stats.relayed == false)
        #expect(peers["self"] == nil)
        _ = peers.outcome(nodeID: "b", success: false, now: Self.now)
        #expect(abs((peers["b"]?.stats.reliability ?? 0) - 0.45) < 1e-9)
        #expect(peers.outcome(nodeID: "nobody", success: true, now: Self.now).isEmpty)
    }

    @Test func theTableIsBounded() {
        var peers = table(capacity: 2)
        for index in 0..<5 {
            _ = peers.learned(nodeID: "n\(index)", nodeName: "", httpURL: nil, websocket: false, now: Self.now)
            _ = peers.relayPresent(nodeID: "r\(index)", name: "", relay: "ws://r", now: Self.now)
            _ = peers.discovered("http://10.0.1.\(index):1", origin: .lan)
        }
        #expect(peers.peers.count == 2)
        #expect(peers.pending.count == 2)
    }

    @Test func aConfiguredAddressStaysConfiguredWhenTheLANFindsItToo() {
        var peers = table()
        _ = peers.discovered(Self.url, origin: .configured)
        _ = peers.discovered(Self.url, origin: .lan, nodeID: "b", instanceName: "bee")
        #expect(peers.pending[Self.url] == PeerTable.Pending(origin: .configured, nodeID: "b", instanceName: "bee"))
        let revision = peers.revision
        _ = peers.discovered(Self.url, origin: .lan, nodeID: "b", instanceName: "bee")
        #expect(peers.revision == revision)
    }
}
