import ArgumentParser
import Foundation

/// `atmo-swarm-sim`: the real `SwarmSchedule` of every node on a simulated network, printing
/// completion percentiles and the bytes the seeds sent, per run.
@main
struct SwarmSimulationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atmo-swarm-sim",
        abstract: "Simulates a swarm pull (the real SwarmSchedule per node) and prints completion times and seed bytes.",
        discussion: """
            fanout (the default): bench/swarm.sh's fan-out, one seed capped at 20 MB/s and 8 consumers \
            on a gigabit LAN, beside one consumer alone. kraken: Uber Kraken's published benchmark, \
            3 GB to 2,600 nodes at 300 MB/s with 5 seeds (Kraken: p50 10 s, p99 18 s); build with \
            -c release for it. The options after --scenario change the chosen scenarios.
            """)

    @Option(name: .long, help: "fanout, kraken, or both, comma-separated.")
    var scenario = "fanout"

    @Option(name: .long, help: "Consumers (pulling nodes).")
    var nodes: Int?

    @Option(name: .long, help: "Seeds (nodes holding the file from the start).")
    var seeds: Int?

    @Option(name: .customLong("file-mb"), help: "File size in MB (10^6 bytes).")
    var fileMB: Double?

    @Option(name: .customLong("upload"), help: "Each consumer's upload, MB/s.")
    var upload: Double?

    @Option(name: .customLong("download"), help: "Each consumer's download, MB/s.")
    var download: Double?

    @Option(name: .customLong("seed-upload"), help: "Each seed's upload, MB/s.")
    var seedUpload: Double?

    @Option(name: .long, help: "Peers each node knows (0: everyone).")
    var neighbors: Int?

    @Option(name: .customLong("have-interval"), help: "Seconds between looks at a partial peer's pieces.")
    var haveInterval: Double?

    @Option(name: .customLong("discovery-delay"), help: "Seconds from a node's start until it knows the other pullers as sources.")
    var discoveryDelay: Double?

    @Option(name: .customLong("have-delay"), help: "Seconds before a verified piece shows to others.")
    var haveDelay: Double?

    @Option(name: .customLong("latency-ms"), help: "Milliseconds from a request to its first byte.")
    var latencyMs: Double?

    @Option(name: .customLong("hash"), help: "In-order whole-file hash, MB/s (0: instant).")
    var hash: Double?

    @Option(name: .customLong("step-ms"), help: "Milliseconds per simulation step.")
    var stepMs: Double?

    @Option(name: .customLong("start-spread"), help: "Consumers start at random within this many seconds.")
    var startSpread: Double?

    @Option(name: .customLong("channel-limit"), help: "Fetches at once per peer.")
    var channelLimit: Int?

    @Option(name: .long, help: "Routes to each peer used at once, each a peer of the schedule (the engine: 1).")
    var routes: Int?

    @Option(name: .long, help: "Random seed of the first run.")
    var seed: UInt64 = 42

    @Option(name: .long, help: "Runs per scenario (random seeds seed, seed+1, ...).")
    var runs = 1

    var scenarioNames: [String] { scenario.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() } }

    func validate() throws {
        guard !scenarioNames.isEmpty, scenarioNames.allSatisfy({ ["fanout", "kraken"].contains($0) }) else {
            throw ValidationError("--scenario takes fanout, kraken or fanout,kraken")
        }
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        if let nodes, nodes < 1 { throw ValidationError("--nodes must be at least 1") }
        if let seeds, seeds < 1 { throw ValidationError("--seeds must be at least 1") }
        if let fileMB, fileMB <= 0 { throw ValidationError("--file-mb must be positive") }
        for (name, value) in [("upload", upload), ("download", download), ("seed-upload", seedUpload)] {
            if let value, value <= 0 { throw ValidationError("--\(name) must be positive") }
        }
        if let stepMs, stepMs <= 0 { throw ValidationError("--step-ms must be positive") }
        if let haveInterval, haveInterval <= 0 { throw ValidationError("--have-interval must be positive") }
    }

    /// The scenario with this command's overrides.
    func configured(_ base: SwarmScenario) -> SwarmScenario {
        var s = base
        let mb = SwarmScenario.megabyte
        if let nodes { s.consumers = nodes }
        if let seeds { s.seeds = seeds }
        if let fileMB { s.fileSize = Int64(fileMB * mb) }
        if let upload { s.upload = upload * mb }
        if let download { s.download = download * mb }
        if let seedUpload { s.seedUpload = seedUpload * mb }
        if let neighbors { s.neighbors = neighbors }
        if let haveInterval { s.haveInterval = haveInterval }
        if let haveDelay { s.haveDelay = haveDelay }
        if let discoveryDelay { s.discoveryDelay = max(0, discoveryDelay) }
        if let latencyMs { s.latency = latencyMs / 1000 }
        if let hash { s.hashRate = hash * mb }
        if let stepMs { s.step = stepMs / 1000 }
        if let startSpread { s.startSpread = startSpread }
        if let channelLimit { s.channelLimit = max(1, channelLimit) }
        if let routes { s.routes = max(1, routes) }
        return s
    }

    func run() throws {
        for name in scenarioNames {
            switch name {
            case "kraken": runKraken()
            default: runFanout()
            }
            print("")
        }
    }

    static func simulate(_ scenario: SwarmScenario) -> SwarmRunResult {
        let started = Date()
        var result = SwarmNetworkSimulator(scenario).run()
        result.wallSeconds = Date().timeIntervalSince(started)
        return result
    }

    /// The fan-out beside one consumer alone (same seed, same links).
    func runFanout() {
        let together = configured(.fanout())
        print(SwarmReport.describe(together))
        var columns: [(label: String, result: SwarmRunResult)] = []
        var alone = together
        alone.consumers = 1
        let reference = Self.simulate(alone)
        columns.append(("1 alone", reference))
        for run in 0..<runs {
            var scenario = together
            scenario.randomSeed = seed &+ UInt64(run)
            columns.append(("\(scenario.consumers) together" + (runs > 1 ? " #\(run + 1)" : ""), Self.simulate(scenario)))
        }
        print(SwarmReport.table(columns))
        for (label, result) in columns.dropFirst() {
            guard let all = result.completionSeconds.last, let one = reference.completionSeconds.last else { continue }
            print(
                "\(label): all verified in \(String(format: "%.2f", all / one))x the time of one alone (goal <= 1.5); "
                    + "seed sent \(String(format: "%.2f", result.seedCopies)) copies of the file (goal <= 1.5, without a swarm \(result.scenario.consumers))"
            )
        }
    }

    /// Kraken's published benchmark beside its figures.
    func runKraken() {
        let base = configured(.kraken())
        print(SwarmReport.describe(base))
        var columns: [(label: String, result: SwarmRunResult)] = []
        for run in 0..<runs {
            var scenario = base
            scenario.randomSeed = seed &+ UInt64(run)
            columns.append(("run \(run + 1) (seed \(scenario.randomSeed))", Self.simulate(scenario)))
        }
        print(SwarmReport.table(columns))
        print("Kraken (README benchmark): p50 10 s, p99 18 s, p99.9 22 s; goal: beat its p99")
        for (label, result) in columns {
            guard let p99 = result.percentile(99), let p50 = result.percentile(50) else { continue }
            print("\(label): p50 \(String(format: "%.1f", p50)) s, p99 \(String(format: "%.1f", p99)) s: " + (p99 < 18 ? "beats" : "does not beat") + " 18 s")
        }
    }
}
