import Testing

@testable import AtmoMesh

struct PeerRankingTests {
    func peer(
        _ id: String, http: Bool = true, latency: Double? = 10, load: Int? = nil, reliability: Double = 1,
        seen: Int64 = 0, name: String? = nil
    ) -> PeerStats {
        PeerStats(
            nodeID: id, nodeName: name ?? "name-\(id)", httpURL: http ? "http://\(id):14750" : nil,
            latencyMs: latency, activeTransfers: load, reliability: reliability, lastSeenMs: seen)
    }

    func order(_ peers: [PeerStats], _ preference: PeerRanking.Preference = .automatic) -> [String] {
        PeerRanking.ordered(peers, preference: preference).map(\.nodeID)
    }

    @Test func directHTTPComesFirstWhateverTheRest() {
        #expect(order([peer("relay", http: false, latency: 1), peer("direct", latency: 900, reliability: 0.3)])
            == ["direct", "relay"])
    }

    @Test func lowerLatencyBucketBeatsReliabilityButNotWithinABucket() {
        // 3 ms and 1 ms share the < 5 ms bucket: reliability decides.
        #expect(order([peer("fast", latency: 1, reliability: 0.8), peer("steady", latency: 3)]) == ["steady", "fast"])
        // 30 ms is a worse bucket than 3 ms: latency decides.
        #expect(order([peer("far", latency: 30), peer("near", latency: 3, reliability: 0.8)]) == ["near", "far"])
        // Not measured comes after every measured bucket.
        #expect(order([peer("unknown", latency: nil), peer("slow", latency: 2000)]) == ["slow", "unknown"])
    }

    @Test func reliabilityComparesInTenthsThenLoadDecides() {
        #expect(order([peer("busy", load: 3), peer("idle", load: 0, reliability: 0.96)]) == ["idle", "busy"])
        #expect(order([peer("flaky", load: 0, reliability: 0.9), peer("busy", load: 3)]) == ["busy", "flaky"])
        // Unknown load counts as idle; then exact latency.
        #expect(order([peer("b", latency: 12), peer("a", latency: 11, load: nil)]) == ["a", "b"])
    }

    @Test func fullTiesBreakOnLastSeenThenNodeID() {
        #expect(order([peer("a", seen: 1), peer("b", seen: 2)]) == ["b", "a"])
        #expect(order([peer("b"), peer("a")]) == ["a", "b"])
    }

    @Test func latencyBuckets() {
        #expect(PeerRanking.latencyBucket(0) == 0)
        #expect(PeerRanking.latencyBucket(4.9) == 0)
        #expect(PeerRanking.latencyBucket(5) == 1)
        #expect(PeerRanking.latencyBucket(499) == 4)
        #expect(PeerRanking.latencyBucket(500) == 5)
        #expect(PeerRanking.latencyBucket(nil) == 6)
        #expect(PeerRanking.latencyBucket(.nan) == 6)
    }

    @Test func fromNodeOverrideFirstOrOnly() {
        let peers = [peer("a", latency: 1), peer("b", latency: 100, name: "Kitchen-Mac"), peer("c", latency: 30)]
        #expect(order(peers, .first("b")) == ["b", "a", "c"])
        #expect(order(peers, .first("kitchen-mac")) == ["b", "a", "c"])
        #expect(order(peers, .only("c")) == ["c"])
        #expect(order(peers, .only("nobody")).isEmpty)
        #expect(order(peers, .first("nobody")) == ["a", "c", "b"])
    }

    @Test func reliabilityIsAnExponentialMovingAverage() {
        var stats = peer("a")
        #expect(stats.reliability == 1)
        stats.recordFailure()
        #expect(abs(stats.reliability - 0.9) < 1e-12)
        stats.recordFailure()
        #expect(abs(stats.reliability - 0.81) < 1e-12)
        stats.recordSuccess(now: 50)
        #expect(abs(stats.reliability - 0.829) < 1e-12)
        #expect(stats.lastSeenMs == 50)
        stats.recordProbe(latencyMs: 2.5, activeTransfers: 4, now: 60)
        #expect(stats.latencyMs == 2.5 && stats.activeTransfers == 4 && stats.lastSeenMs == 60)
        #expect(abs(stats.reliability - 0.8461) < 1e-12)
    }
}
