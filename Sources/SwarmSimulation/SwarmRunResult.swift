import Foundation

/// The figures of one simulated run.
struct SwarmRunResult: Sendable {
    var scenario: SwarmScenario
    var pieceSize: Int64
    var pieceCount: Int
    /// Seconds from each consumer's start until it had hashed the whole file, sorted.
    var completionSeconds: [Double]
    /// Seconds from each consumer's start until it held (verified) every piece, sorted.
    var heldSeconds: [Double]
    /// Consumers that had not verified the file at the time limit.
    var unfinished: Int
    /// Bytes every seed sent, in total.
    var seedBytes: Double
    /// Bytes every node sent, in total.
    var totalBytes: Double
    /// Bytes of fetches cancelled before their piece arrived (endgame duplicates, drops).
    var wastedBytes: Double
    var drops: Int
    var simulatedSeconds: Double
    var wallSeconds = 0.0

    /// The p-th percentile (0-100) of the completion times, nearest rank; nil when nobody finished.
    func percentile(_ p: Double, of values: [Double]? = nil) -> Double? {
        let sorted = values ?? completionSeconds
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }

    var seedCopies: Double { seedBytes / Double(scenario.fileSize) }
    /// Bytes moved over what the consumers needed (1.0: not a byte more).
    var trafficOverhead: Double { totalBytes / (Double(scenario.fileSize) * Double(scenario.consumers)) }
    /// The time the file takes at one consumer's full download rate.
    var downloadBound: Double { Double(scenario.fileSize) / scenario.download }
}

/// The text `atmo-swarm-sim` prints.
enum SwarmReport {
    static func describe(_ scenario: SwarmScenario) -> String {
        let mb = SwarmScenario.megabyte
        let graph = scenario.neighbors > 0 ? "\(scenario.neighbors) random peers each" : "everyone knows everyone"
        return "\(scenario.name): \(formatBytes(Double(scenario.fileSize))) to \(scenario.consumers) nodes from \(scenario.seeds) "
            + "seed(s); node up/down \(format(scenario.upload / mb)) / \(format(scenario.download / mb)) MB/s, seed up "
            + "\(format(scenario.seedUpload / mb)) MB/s; \(graph); pieces \(formatBytes(Double(scenario.chosenPieceSize))) "
            + "(\(scenario.pieceCount)); pullers known after \(format(scenario.discoveryDelay)) s, have seen every "
            + "\(format(scenario.haveInterval)) s + \(format(scenario.haveDelay)) s; "
            + "\(scenario.channelLimit) fetches per route, \(scenario.routes) route(s) per peer; latency \(format(scenario.latency * 1000)) ms; hash \(scenario.hashRate > 0 ? format(scenario.hashRate / mb) + " MB/s" : "instant"); "
            + "step \(format(scenario.step * 1000)) ms; seed \(scenario.randomSeed)"
    }

    /// Rows of label and value, one column per run.
    static func table(_ runs: [(label: String, result: SwarmRunResult)]) -> String {
        var rows: [(String, [String])] = [("", runs.map(\.label))]
        func row(_ label: String, _ value: (SwarmRunResult) -> String) { rows.append((label, runs.map { value($0.result) })) }
        func seconds(_ value: Double?) -> String { value.map { String(format: "%.2f s", $0) } ?? "-" }
        row("consumers / seeds") { "\($0.scenario.consumers) / \($0.scenario.seeds)" }
        row("verified: p50") { seconds($0.percentile(50)) }
        row("verified: p90") { seconds($0.percentile(90)) }
        row("verified: p99") { seconds($0.percentile(99)) }
        row("verified: max") { seconds($0.completionSeconds.last) }
        row("all pieces held: p50 / max") { "\(seconds($0.percentile(50, of: $0.heldSeconds))) / \(seconds($0.heldSeconds.last))" }
        row("bound: file / download rate") { seconds($0.downloadBound) }
        row("unfinished at the time limit") { "\($0.unfinished)" }
        row("seed bytes (file copies)") { "\(formatBytes($0.seedBytes)) (\(String(format: "%.2f", $0.seedCopies)))" }
        row("all bytes sent / needed") { String(format: "%.3f", $0.trafficOverhead) }
        row("cancelled in flight") { formatBytes($0.wastedBytes) }
        row("peers dropped") { "\($0.drops)" }
        row("wall time") { String(format: "%.1f s", $0.wallSeconds) }
        let labelWidth = rows.map(\.0.count).max() ?? 0
        let columnWidth = max(12, rows.flatMap(\.1).map(\.count).max() ?? 0)
        return rows.map { label, values in
            label.padding(toLength: labelWidth + 2, withPad: " ", startingAt: 0)
                + values.map { String(repeating: " ", count: max(0, columnWidth - $0.count)) + $0 }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(format: "%.0f", value) : String(format: "%.3g", value)
    }

    static func formatBytes(_ bytes: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = bytes
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? String(format: "%.0f B", value) : String(format: "%.1f ", value) + units[unit]
    }
}
