import Testing

@testable import AtmoMesh

/// A probe that fails counts against the address it timed, whether a node was tied to it
/// yet or not: a configured peer that only trickles its answers shows as timing out with
/// its reliability falling, not as "not reached yet" with reliability 1.
struct PeerTableProbeFailureTests {
    static let now: Int64 = 1_760_000_000_000
    static let url = "http://10.0.0.7:8080"

    @Test func aConfiguredAddressWhoseProbesTimeOutKeepsTheFailureAndItsReliabilityFalls() {
        var peers = PeerTable(ownNodeID: "self")
        _ = peers.discovered(Self.url, origin: .configured)
        #expect(peers.pending[Self.url]?.reliability == 1 && peers.pending[Self.url]?.probeFailure == nil)
        let revision = peers.revision
        #expect(peers.probeFailed(Self.url, reason: .timeout, now: Self.now).isEmpty)
        #expect(peers.revision > revision, "the peers view changes")
        #expect(peers.pending[Self.url]?.probeFailure == .timeout)
        #expect(abs((peers.pending[Self.url]?.reliability ?? 1) - 0.9) < 1e-9)
        // Still pending, still configured, and probed again (never forgotten).
        for _ in 1...4 { #expect(peers.probeFailed(Self.url, reason: .timeout, now: Self.now).isEmpty) }
        #expect(peers.pending[Self.url]?.origin == .configured)
        #expect(peers.probeTargets == [Self.url])
        #expect(abs((peers.pending[Self.url]?.reliability ?? 1) - 0.59049) < 1e-9)
        // A refusal says so instead.
        _ = peers.probeFailed(Self.url, now: Self.now)
        #expect(peers.pending[Self.url]?.probeFailure == .failed)
    }

    @Test func aPeerThatAnswersAtLastStartsFromItsAddresssRecordAndClearsTheFailure() throws {
        var peers = PeerTable(ownNodeID: "self")
        _ = peers.discovered(Self.url, origin: .configured)
        _ = peers.probeFailed(Self.url, reason: .timeout, now: Self.now)
        _ = peers.probeSucceeded(Self.url, health: .init(nodeID: "b", nodeName: "bee"), latencyMs: 2, now: Self.now)
        let peer = try #require(peers["b"])
        #expect(peer.probeFailure == nil)
        // 0.9 from the timeout, then a success: 0.9 * 0.9 + 0.1.
        #expect(abs(peer.stats.reliability - 0.91) < 1e-9)
    }

    @Test func aKnownPeerWhoseProbeTimesOutSaysSoUntilItAnswers() {
        var peers = PeerTable(ownNodeID: "self")
        _ = peers.discovered(Self.url, origin: .configured)
        _ = peers.probeSucceeded(Self.url, health: .init(nodeID: "b", nodeName: "bee"), latencyMs: 2, now: Self.now)
        _ = peers.probeFailed(Self.url, reason: .timeout, now: Self.now)
        #expect(peers["b"]?.probeFailure == .timeout)
        #expect(peers["b"]?.stats.httpReachability == .failing)
        _ = peers.probeSucceeded(Self.url, health: .init(nodeID: "b", nodeName: "bee"), latencyMs: 2, now: Self.now)
        #expect(peers["b"]?.probeFailure == nil)
    }

    @Test func aLANAnnouncementOfAPendingAddressKeepsItsProbeRecord() {
        var peers = PeerTable(ownNodeID: "self")
        _ = peers.discovered(Self.url, origin: .configured)
        _ = peers.probeFailed(Self.url, reason: .timeout, now: Self.now)
        _ = peers.discovered(Self.url, origin: .lan, nodeID: "b", instanceName: "bee")
        #expect(peers.pending[Self.url]?.probeFailure == .timeout)
        #expect(peers.pending[Self.url]?.nodeID == "b")
    }
}
