import AtmoMesh
import ArgumentParser
import Foundation

/// `atmo-gossip-sim`: the real `GossipState` on a simulated network, printing coverage
/// and traffic side by side for several mesh sizes (docs/MESH.md quotes its output).
@main
struct GossipSimulationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atmo-gossip-sim",
        abstract: "Simulates catalog gossip between N nodes and prints coverage and traffic per node.")

    @Option(name: .long, help: "Mesh sizes, comma-separated.")
    var nodes = "100,1000,10000"

    @Option(name: .long, help: "Probability that a message is lost.")
    var loss = 0.05

    @Option(name: .long, help: "Seed of every random choice.")
    var seed: UInt64 = 42

    @Option(name: .long, help: "Gossip fanout.")
    var fanout = GossipConfiguration().fanout

    @Option(name: .long, help: "Gossip hop limit.")
    var hopLimit = GossipConfiguration().hopLimit

    @Option(name: .long, help: "Random peers each node knows at start.")
    var view = 8

    @Option(name: .long, help: "Largest mesh whose start-up gossip is simulated (it costs O(N²) messages).")
    var warmLimit = 1000

    @Option(name: .long, help: "Random peers each node of a larger mesh starts with (no start-up gossip).")
    var largeView = 128

    @Flag(name: .long, help: "Also print coverage and traffic for fanouts 3 to 8 (first size, at most 300 nodes).")
    var fanoutSweep = false

    func validate() throws {
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 >= 10 }) else {
            throw ValidationError("--nodes takes sizes of at least 10, such as 100,1000")
        }
        guard (0..<1).contains(loss) else { throw ValidationError("--loss must be in [0, 1)") }
    }

    var sizes: [Int] { nodes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func run() throws {
        let gossip = GossipConfiguration(fanout: fanout, hopLimit: hopLimit)
        print("atmo-gossip-sim: fanout \(gossip.fanout), hop limit \(gossip.hopLimit), loss \(loss), "
              + "initial view \(view), seed \(seed)")
        var results: [SimulationResult] = []
        for size in sizes {
            let started = Date()
            let warm = size <= warmLimit
            results.append(SimulationResult.measure(
                nodes: size, loss: loss, seed: seed, view: warm ? view : largeView, gossip: gossip, warm: warm))
            let seconds = Date().timeIntervalSince(started)
            FileHandle.standardError.write(Data("  N=\(size) simulated in \(String(format: "%.1f", seconds)) s\n".utf8))
        }
        print(SimulationReport.table(results))
        if fanoutSweep, let size = sizes.first {
            print(SimulationReport.fanoutSweep(
                nodes: min(size, 300), loss: loss, seed: seed, view: view, hopLimit: hopLimit))
        }
    }
}
