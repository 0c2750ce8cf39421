import AtmoProtocol

/// One simulated swarm: a file, its seeds, the nodes pulling it, how fast each sends and
/// receives, and how they see each other. Every node starts empty except the seeds, which
/// hold the whole file from the start and never pull.
struct SwarmScenario: Sendable {
    var name: String
    /// Nodes pulling the file.
    var consumers: Int
    /// Nodes holding the whole file from the start.
    var seeds = 1
    var fileSize: Int64
    /// Nil: the size this node chooses (`PieceManifest.pieceSize(forFileSize:)`).
    var pieceSize: Int64? = nil
    /// Bytes per second each consumer can send, in total over its uploads.
    var upload: Double
    /// Bytes per second each consumer can receive, in total over its downloads.
    var download: Double
    /// Bytes per second each seed can send.
    var seedUpload: Double
    /// Peers each node knows (a random graph of about this degree; 0: everyone knows
    /// everyone, as on a LAN whose catalog lists every node).
    var neighbors = 0
    /// Seconds between two looks at a partial peer's pieces (its `/have` answer; the pull
    /// engine asks every 0.5 s, `SwarmSession.haveInterval`).
    var haveInterval = 0.5
    /// Seconds from a node's start until it knows the other nodes pulling the file as
    /// sources (seeds are known at once). The engine: the puller's catalog names the file on
    /// its next tick (every second), its peers' next look for sources comes within 2 s:
    /// about 1.5 s on average.
    var discoveryDelay = 1.5
    /// Seconds before a piece a node verified shows in what it answers to others.
    var haveDelay = 0.05
    /// Seconds from a request to its first byte.
    var latency = 0.001
    /// Bytes per second of the in-order whole-file hash (0: instant).
    var hashRate = 1.2e9
    /// Fetches one peer's channel carries at once (HTTP connections to it).
    var channelLimit = 4
    /// Routes to each peer that the schedule sees as peers of their own, sharing the peer's
    /// upload. The pull engine uses one route per node at a time (the others are its
    /// fail-over), so 1; 2 is how it was before (HTTP and direct WebSocket at once).
    var routes = 1
    /// Simulated seconds per step of the flow model.
    var step = 0.002
    /// Consumers start at random times spread over this many seconds (0: all together).
    var startSpread = 0.0
    var randomSeed: UInt64 = 42
    /// Simulated seconds after which a run stops, finished or not.
    var timeLimit = 600.0

    var chosenPieceSize: Int64 { pieceSize ?? PieceManifest.pieceSize(forFileSize: fileSize) }
    var pieceCount: Int { PieceManifest.pieceCount(fileSize: fileSize, pieceSize: chosenPieceSize) }
}

extension SwarmScenario {
    static let megabyte = 1_000_000.0
    static let mebibyte: Int64 = 1 << 20

    /// Uber's Kraken benchmark, as its README states it: a 3 GB image to 2,600 hosts at once,
    /// 300 MB/s speed limit on every agent, 5 origins (seeds). Kraken reports p50 10 s,
    /// p99 18 s. Its tracker forms a pseudo-random regular graph: here every node knows
    /// `neighbors` random others.
    static func kraken(consumers: Int = 2600, neighbors: Int = 16) -> SwarmScenario {
        SwarmScenario(
            name: "kraken", consumers: consumers, seeds: 5, fileSize: 3_000_000_000, upload: 300 * megabyte,
            download: 300 * megabyte, seedUpload: 300 * megabyte, neighbors: neighbors, step: 0.004, timeLimit: 300)
    }

    /// bench/swarm.sh's fan-out on a LAN: one seed whose upload is capped at 20 MB/s, eight
    /// consumers on gigabit links (110 MB/s each way), everyone knowing everyone.
    static func fanout(consumers: Int = 8, fileMiB: Int64 = 256) -> SwarmScenario {
        SwarmScenario(
            name: "fanout", consumers: consumers, seeds: 1, fileSize: fileMiB * mebibyte, upload: 110 * megabyte,
            download: 110 * megabyte, seedUpload: 20 * megabyte, neighbors: 0)
    }
}
