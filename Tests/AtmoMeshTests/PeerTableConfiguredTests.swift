import Testing

@testable import AtmoMesh

/// "Configured: kept, and tried again, whatever happens" (issue 9, item 16b): a configured
/// address is never forgotten, on any path a peer leaves the table by.
struct PeerTableConfiguredTests {
    static let now: Int64 = 1_760_000_000_000
    static let configured = "http://localhost:8080"
    static let advertised = "http://host:8080"

    func health(_ nodeID: String) -> PeerTable.Health { PeerTable.Health(nodeID: nodeID, nodeName: "bee") }

    /// `--peer http://localhost:8080` for a node already learned from gossip as `http://host:8080`.
    func configuredPeerKnownFromGossip() -> PeerTable {
        var peers = PeerTable(ownNodeID: "self")
        _ = peers.learned(nodeID: "b", nodeName: "bee", httpURL: Self.advertised, websocket: false, now: Self.now)
        #expect(peers.discovered(Self.configured, origin: .configured) == [.gossipWith(Self.configured)])
        #expect(peers.probeSucceeded(Self.configured, health: health("b"), latencyMs: 1, now: Self.now) == [.gossipWith(Self.configured)])
        return peers
    }

    @Test func aConfiguredAddressAnsweringAsAGossipPeerMakesItConfigured() {
        var peers = configuredPeerKnownFromGossip()
        #expect(peers.pending.isEmpty)
        #expect(peers["b"]?.origin == .configured)
        #expect(peers["b"]?.configuredURLs == [Self.configured])
        #expect(peers["b"]?.stats.httpURL == Self.advertised)
        // Its catalog expiring does not remove it.
        #expect(peers.forgotten(nodeID: "b").isEmpty)
        #expect(peers["b"] != nil)
    }

    @Test func aConfiguredPeerThatFailsItsProbesLeavesItsConfiguredAddressPending() {
        var peers = configuredPeerKnownFromGossip()
        for _ in 1...2 { #expect(peers.probeFailed(Self.advertised, now: Self.now).isEmpty) }
        #expect(peers.probeFailed(Self.advertised, now: Self.now) == [.departed(nodeID: "b", url: Self.advertised)])
        #expect(peers["b"] == nil)
        // The address the user gave is tried again, not the one the catalog advertised.
        #expect(peers.pending.keys.sorted() == [Self.configured])
        #expect(peers.pending[Self.configured]?.origin == .configured)
        // It keeps the record of the probes that failed it.
        #expect(peers.pending[Self.configured]?.probeFailure == .failed)
        #expect((peers.pending[Self.configured]?.reliability ?? 1) < 0.8)
        #expect(peers.probeTargets == [Self.configured])
        #expect(peers.probeSucceeded(Self.configured, health: health("b"), latencyMs: 1, now: Self.now) == [.gossipWith(Self.configured)])
        #expect(peers["b"]?.origin == .configured)
    }

    @Test func aConfiguredPeerWhoseLANInstanceSaysGoodbyeStaysPending() {
        var peers = PeerTable(ownNodeID: "self")
        _ = peers.discovered(Self.configured, origin: .configured)
        _ = peers.discovered(Self.configured, origin: .lan, nodeID: "b", instanceName: "bee")
        _ = peers.probeSucceeded(Self.configured, health: health("b"), latencyMs: 1, now: Self.now)
        #expect(peers["b"]?.lanInstanceName == "bee")
        #expect(peers.lanLost(instanceName: "bee") == [.departed(nodeID: "b", url: Self.configured)])
        #expect(peers["b"] == nil)
        #expect(peers.pending[Self.configured]?.origin == .configured)
    }

    @Test func aConfiguredPeerThatLeavesItsLastRelayStaysPending() {
        var peers = PeerTable(ownNodeID: "self")
        _ = peers.discovered(Self.configured, origin: .configured)
        _ = peers.probeSucceeded(Self.configured, health: health("b"), latencyMs: 1, now: Self.now)
        _ = peers.relayPresent(nodeID: "b", name: "bee", relay: "ws://relay", now: Self.now)
        #expect(peers.probeFailed(Self.configured, now: Self.now).isEmpty)  // on a relay: stays
        #expect(peers.relayGone(nodeID: "b", relay: "ws://relay", now: Self.now) == [.departed(nodeID: "b", url: Self.configured)])
        #expect(peers["b"] == nil)
        #expect(peers.pending[Self.configured]?.origin == .configured)
    }

    @Test func aConfiguredPeerMetFirstOnARelayBecomesConfiguredAndIsKept() {
        var peers = PeerTable(ownNodeID: "self")
        _ = peers.relayPresent(nodeID: "b", name: "bee", relay: "ws://relay", now: Self.now)
        _ = peers.discovered(Self.configured, origin: .configured)
        _ = peers.probeSucceeded(Self.configured, health: health("b"), latencyMs: 1, now: Self.now)
        #expect(peers["b"]?.origin == .configured)
        _ = peers.probeFailed(Self.configured, now: Self.now)
        _ = peers.relayGone(nodeID: "b", relay: "ws://relay", now: Self.now)
        #expect(peers.pending[Self.configured]?.origin == .configured)
    }

    @Test func aLANAddressAnsweringAsAGossipPeerMakesItALANPeer() {
        var peers = PeerTable(ownNodeID: "self")
        _ = peers.learned(nodeID: "b", nodeName: "bee", httpURL: Self.advertised, websocket: false, now: Self.now)
        _ = peers.discovered("http://10.0.0.2:8080", origin: .lan, nodeID: "b", instanceName: "bee")
        _ = peers.probeSucceeded("http://10.0.0.2:8080", health: health("b"), latencyMs: 1, now: Self.now)
        #expect(peers["b"]?.origin == .lan && peers["b"]?.lanInstanceName == "bee")
        #expect(peers["b"]?.configuredURLs.isEmpty == true)
        #expect(peers.forgotten(nodeID: "b").isEmpty)
        #expect(peers["b"] != nil)
        // A LAN address never makes a configured peer less.
        var configured = configuredPeerKnownFromGossip()
        _ = configured.discovered("http://10.0.0.2:8080", origin: .lan, nodeID: "b", instanceName: "bee")
        _ = configured.probeSucceeded("http://10.0.0.2:8080", health: health("b"), latencyMs: 1, now: Self.now)
        #expect(configured["b"]?.origin == .configured)
    }

    @Test func aFullTableKeepsAConfiguredAddressPending() {
        var peers = PeerTable(ownNodeID: "self", capacity: 1)
        _ = peers.learned(nodeID: "a", nodeName: "ay", httpURL: nil, websocket: false, now: Self.now)
        _ = peers.discovered(Self.configured, origin: .configured)
        #expect(peers.probeSucceeded(Self.configured, health: health("b"), latencyMs: 1, now: Self.now).isEmpty)
        #expect(peers.pending[Self.configured]?.origin == .configured)
        #expect(peers["b"] == nil)
    }
}
