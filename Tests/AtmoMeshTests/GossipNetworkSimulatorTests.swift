import AtmoProtocol
import Testing

@testable import AtmoMesh

struct GossipNetworkSimulatorTests {
    @Test func twoHundredNodesLearnANewModelWithinLogRoundsAndRelayEachCatalogOnce() {
        var simulator = GossipNetworkSimulator(.init(nodeCount: 200, loss: 0.05, seed: 2024))
        simulator.startMesh(gossip: true)
        var rounds = 0
        while !simulator.isQuiet, rounds < 100 {
            simulator.runRound()
            rounds += 1
        }
        #expect(simulator.isQuiet)
        // Start-up gossip grew every view well beyond the initial 8 peers.
        #expect(simulator.nodes[0].peers.count > 150)

        let wave = simulator.newModelWave()
        let bound = 8  // log2(200) = 7.6
        #expect(wave.finalCoverage >= 0.99)
        #expect((wave.roundsTo99 ?? .max) <= bound)
        #expect(wave.duplicateRelays == 0)
        // Each node relays a catalog at most once to `fanout` peers: traffic per node is
        // bounded by the fanout (plus the few substitutes after failures).
        #expect(wave.messagesPerNode <= Double(GossipConfiguration().fanout) + 0.5)

        // After 10 % died silently a wave may miss 1 or 2 of the 180 live nodes (each wave
        // misses an independent ~0.3 % on average: seeds 1-10 give 99.4-100 %, this one
        // 98.9 %); they get the catalog with the origin's next publication.
        simulator.killNodes(fraction: 0.1)
        let afterDeaths = simulator.newModelWave()
        #expect(afterDeaths.finalCoverage >= 0.985)
        #expect(afterDeaths.rounds <= 2 * bound)
        #expect(afterDeaths.duplicateRelays == 0)

        // A joining node knows what the one peer it pulled from knew (that peer may have
        // missed a catalog or two of the start-up wave), and the mesh learns of it.
        let join = simulator.joinNewNode()
        #expect(join.pulledCatalogs >= 180)
        #expect(simulator.meshKnownBy(simulator.joinerIndex) >= 0.97)
        #expect(join.wave.finalCoverage >= 0.95)
    }

    @Test func countedBytesAreTheRealEncodingSize() throws {
        var simulator = GossipNetworkSimulator(.init(nodeCount: 10, loss: 0, seed: 3))
        let catalog = simulator.nodes[4].ownCatalog
        for hops in [nil, 0, 7, 12] {
            for ttl: Int64 in [1, 42, 300, 3600] {
                var copy = catalog.withGossipHops(hops)
                copy.ttlSeconds = ttl
                let counted = simulator.encodedSize(of: copy)
                #expect(counted == (try WireCoding.encode(copy).count))
            }
        }
    }

    @Test func sameSeedSameRun() {
        func run(seed: UInt64) -> [Double] {
            var simulator = GossipNetworkSimulator(.init(nodeCount: 60, loss: 0.1, seed: seed))
            simulator.startMesh(gossip: false)
            let wave = simulator.newModelWave()
            return [Double(wave.traffic.messages), Double(wave.traffic.bytes), wave.finalCoverage]
        }
        #expect(run(seed: 5) == run(seed: 5))
        #expect(run(seed: 5) != run(seed: 6))
    }
}

/// Issue 14 in the simulation: nodes that know only their configured peers.
struct GossipStaticPeersSimulationTests {
    /// Without loss, every configured pair knows each other's catalog within a few rounds
    /// (far before the 300 s re-publication), whatever the seed (it decides the order in
    /// which a round's messages arrive).
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func configuredPeersNeverWaitForTheRepublication(seed: UInt64) {
        var simulator = GossipNetworkSimulator(.init(nodeCount: 20, loss: 0, seed: seed))
        simulator.startMesh(gossip: true)
        let report = simulator.staticPeersJoin()
        #expect(report.missing.isEmpty, "seed \(seed): \(report.missing)")
        #expect((report.roundsUntilAllKnown ?? .max) <= 6, "seed \(seed)")
        #expect((report.secondsUntilAllKnown ?? .infinity) < Double(GossipConfiguration().publishIntervalMs) / 1000)
    }
}
