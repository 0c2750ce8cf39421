import Testing
@testable import AtmoMesh

@Test func debugColdTmp() {
    for view in [8, 16] {
    var sim = GossipNetworkSimulator(.init(nodeCount: 1000, loss: 0.05, seed: 42, initialViewSize: view))
    sim.startMesh(gossip: false)
    var line = "COLD view \(view):"
    for _ in 0..<10 {
        let w = sim.newModelWave()
        line += " \(Int(w.finalCoverage * 1000))/\(w.rounds)"
    }
    print(line)
    }
}
