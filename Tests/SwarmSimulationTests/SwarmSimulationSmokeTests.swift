import Testing

@testable import SwarmSimulation

/// The swarm simulation runs the real `SwarmSchedule` on small networks: every node ends
/// with the file, and the seed sends far fewer than one copy per node.
struct SwarmSimulationSmokeTests {
    @Test func fanOutFromOneCappedSeedCompletesWithFewerSeedCopiesThanNodes() {
        let scenario = SwarmScenario.fanout(consumers: 8, fileMiB: 32)
        let result = SwarmNetworkSimulator(scenario).run()
        #expect(result.unfinished == 0)
        #expect(result.completionSeconds.count == 8)
        #expect(result.seedCopies < 8)
        #expect(result.seedBytes >= Double(scenario.fileSize))
    }

    @Test func randomGraphWithSeveralSeedsCompletes() {
        var scenario = SwarmScenario.kraken(consumers: 40, neighbors: 6)
        scenario.fileSize = 64 << 20
        scenario.seeds = 2
        scenario.step = 0.002
        scenario.timeLimit = 60
        let result = SwarmNetworkSimulator(scenario).run()
        #expect(result.unfinished == 0)
        #expect(result.completionSeconds.count == 40)
        #expect(result.seedCopies < 40)
        // Nobody can beat its own download rate.
        #expect((result.completionSeconds.first ?? 0) >= result.downloadBound * 0.99)
    }

    @Test func sameRandomSeedGivesTheSameRun() {
        var scenario = SwarmScenario.fanout(consumers: 4, fileMiB: 16)
        scenario.randomSeed = 7
        let first = SwarmNetworkSimulator(scenario).run()
        let second = SwarmNetworkSimulator(scenario).run()
        #expect(first.completionSeconds == second.completionSeconds)
        #expect(first.seedBytes == second.seedBytes)
    }
}
