import AtmoMesh
import Foundation

/// The text tables `atmo-gossip-sim` prints.
enum SimulationReport {
    static func table(_ results: [SimulationResult]) -> String {
        var rows: [(String, [String])] = []
        func row(_ label: String, _ value: (SimulationResult) -> String) { rows.append((label, results.map(value))) }
        row("nodes (N)") { "\($0.nodes)" }
        row("log2(N)") { String(format: "%.1f", log2(Double($0.nodes))) }
        row("views") { $0.warm ? "\($0.initialView) + start-up gossip" : "\($0.initialView) random" }
        row("start-up: msgs/node") { r in r.startup.map { String(format: "%.0f", Double($0.messages) / Double(r.nodes)) } ?? "-" }
        row("start-up: KB/node") { r in r.startup.map { kb(Double($0.bytes) / Double(r.nodes)) } ?? "-" }
        section("new model on one node", \.firstWave, into: &rows, results)
        row("nodes killed (no goodbye)") { "\($0.killed)" }
        section("new model after deaths", \.afterDeaths, into: &rows, results)
        row("join: rounds to know 99% of mesh") { $0.warm ? rounds($0.join.roundsToKnowMesh) : "-" }
        row("join: share of mesh known") { $0.warm ? String(format: "%.2f%%", $0.join.knownShare * 100) : "-" }
        row("join: pulled catalogs / KB") {
            $0.warm ? "\($0.join.pulledCatalogs) / \(kb(Double($0.join.pullBytes)))" : "-"
        }
        row("join: rounds until 99% know it") {
            "\(rounds($0.join.wave.roundsTo99)) (\(String(format: "%.1f%%", $0.join.wave.finalCoverage * 100)))"
        }
        row("refresh: msgs/node per interval") { String(format: "%.0f", $0.refresh.messagesPerNodePerInterval) }
        row("refresh: KB/node per interval") { kb($0.refresh.bytesPerNodePerInterval) }
        row("refresh: KB/s per node") {
            String(format: "%.2f", $0.refresh.bytesPerNodePerInterval / 1024 / $0.publishIntervalSeconds)
        }
        row("static peers: pairs known") { "\($0.staticJoin.pairs - $0.staticJoin.missing.count) of \($0.staticJoin.pairs)" }
        row("static peers: rounds (s) to all") { r in
            r.staticJoin.secondsUntilAllKnown.map { "\(r.staticJoin.roundsUntilAllKnown!) (\(String(format: "%.1f", $0)))" } ?? "never"
        }
        let labelWidth = rows.map(\.0.count).max() ?? 0
        let columnWidth = max(14, rows.flatMap(\.1).map(\.count).max() ?? 0)
        return rows.map { label, values in
            label.padding(toLength: labelWidth + 2, withPad: " ", startingAt: 0)
                + values.map { String(repeating: " ", count: max(0, columnWidth - $0.count)) + $0 }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    private static func section(
        _ title: String, _ wave: KeyPath<SimulationResult, GossipNetworkSimulator.WaveReport>,
        into rows: inout [(String, [String])], _ results: [SimulationResult]
    ) {
        rows.append(("\(title):", results.map { _ in "" }))
        rows.append(("  rounds to 99% / 100%", results.map { "\(rounds($0[keyPath: wave].roundsTo99)) / \(rounds($0[keyPath: wave].roundsTo100))" }))
        rows.append(("  coverage when quiet", results.map { String(format: "%.2f%%", $0[keyPath: wave].finalCoverage * 100) }))
        rows.append(("  rounds until quiet", results.map { "\($0[keyPath: wave].rounds)" }))
        rows.append(("  msgs/node (whole wave)", results.map { String(format: "%.2f", $0[keyPath: wave].messagesPerNode) }))
        rows.append(("  KB/node (whole wave)", results.map { kb($0[keyPath: wave].bytesPerNode) }))
        rows.append(("  peak msgs/node/round", results.map { String(format: "%.2f", $0[keyPath: wave].peakMessagesPerNodeRound) }))
        rows.append(("  peak KB/node/round", results.map { kb($0[keyPath: wave].peakBytesPerNodeRound) }))
        rows.append(("  relayed twice by a node", results.map { "\($0[keyPath: wave].duplicateRelays)" }))
    }

    /// Coverage and traffic of 10 successive new-model waves for fanouts 3 to 8, on a mesh
    /// warmed by start-up gossip.
    static func fanoutSweep(nodes: Int, loss: Double, seed: UInt64, view: Int, hopLimit: Int) -> String {
        var lines = ["", "fanout sweep, N=\(nodes), views grown by start-up gossip, loss \(loss), 10 waves each:"]
        lines.append("fanout  mean coverage  worst coverage  waves >= 99%  worst rounds to 99%  msgs/node/wave")
        for fanout in 3...8 {
            var simulator = GossipNetworkSimulator(
                .init(nodeCount: nodes, loss: loss, seed: seed, initialViewSize: view,
                      gossip: GossipConfiguration(fanout: fanout, hopLimit: hopLimit)))
            simulator.startMesh(gossip: true)
            while !simulator.isQuiet { simulator.runRound() }
            let waves = (0..<10).map { _ in simulator.newModelWave() }
            let mean = waves.map(\.finalCoverage).reduce(0, +) / Double(waves.count)
            let worst = waves.map(\.finalCoverage).min() ?? 0
            let reached = waves.compactMap(\.roundsTo99)
            let messages = waves.map(\.messagesPerNode).reduce(0, +) / Double(waves.count)
            lines.append(
                String(format: "%6d  %12.2f%%  %13.2f%%  %12d  %19@  %14.2f", fanout, mean * 100, worst * 100,
                       reached.count, reached.count == waves.count ? "\(reached.max()!)" : "-", messages))
        }
        return lines.joined(separator: "\n")
    }

    static func rounds(_ value: Int?) -> String { value.map(String.init) ?? "never" }

    static func kb(_ bytes: Double) -> String { String(format: "%.1f", bytes / 1024) }
}
