import AtmoMesh

/// Every measurement of one mesh size.
struct SimulationResult {
    var nodes: Int
    /// Whether start-up gossip ran (views grew to the whole mesh) or views stayed initial.
    var warm: Bool
    var initialView: Int
    var startup: GossipNetworkSimulator.Traffic?
    var firstWave: GossipNetworkSimulator.WaveReport
    var killed: Int
    var afterDeaths: GossipNetworkSimulator.WaveReport
    var join: GossipNetworkSimulator.JoinReport
    var refresh: GossipNetworkSimulator.RefreshReport
    var staticJoin: GossipNetworkSimulator.StaticJoinReport
    var publishIntervalSeconds: Double

    /// Runs every scenario on a mesh of `nodes`. `warm`: start-up gossip runs, so views
    /// grow from `view` peers to the whole mesh as in a real node; otherwise (large meshes,
    /// where start-up costs O(N²) messages) each node starts with `view` random peers.
    static func measure(
        nodes: Int, loss: Double, seed: UInt64, view: Int, gossip: GossipConfiguration, warm: Bool
    ) -> SimulationResult {
        var simulator = GossipNetworkSimulator(
            .init(nodeCount: nodes, loss: loss, seed: seed, initialViewSize: view, gossip: gossip))
        simulator.startMesh(gossip: warm)
        var startup: GossipNetworkSimulator.Traffic?
        if warm {
            while !simulator.isQuiet { simulator.runRound() }
            startup = simulator.traffic
        }
        let firstWave = simulator.newModelWave()
        let killed = simulator.killNodes(fraction: 0.10)
        let afterDeaths = simulator.newModelWave()
        let join = simulator.joinNewNode()
        let refresh = simulator.refreshCost(sampleOrigins: 20)
        let staticJoin = simulator.staticPeersJoin()
        return SimulationResult(
            nodes: nodes, warm: warm, initialView: view, startup: startup, firstWave: firstWave, killed: killed,
            afterDeaths: afterDeaths, join: join, refresh: refresh, staticJoin: staticJoin,
            publishIntervalSeconds: Double(gossip.publishIntervalMs) / 1000)
    }
}
