import AtmoProtocol
import AtmoTransfer

/// The real `SwarmSchedule`, one per simulated consumer, on a simulated network.
///
/// Flow model, in fixed steps of `scenario.step` seconds: every fetch the schedules ask for
/// becomes a transfer from the peer to the node, starting `latency` after the request. In
/// each step a transfer moves `min(upload / uploads, download / downloads) * step` bytes: its
/// sender's upload split evenly over the sender's transfers, the receiver's download split
/// evenly over the receiver's, the smaller share wins (capacity a transfer cannot use is not
/// handed to the others, so the figures err on the slow side). A piece that has arrived is
/// reported to the schedule (always valid: no peer lies here), whose cancels and drops end
/// other transfers. A consumer serves any piece it holds; what it holds shows to the nodes
/// that know it `haveDelay` after it arrived, at their next look (every `haveInterval`).
/// The in-order whole-file hash runs at `hashRate`; a node is done once it has hashed the
/// last piece. Seeds send at `seedUpload` and never pull.
///
/// A step costs about one pass over the transfers in flight; a schedule is asked for work
/// only when something changed for it (a fetch of a peer ended, a peer's pieces were seen,
/// a back-off ran out, a drop, the endgame), so 2,600 nodes run in well under a minute.
final class SwarmNetworkSimulator {
    struct Transfer {
        var from: Int32
        /// The schedule peer (route) of `from` at the receiver: `neighbors[receiver][slot / routes]`
        /// is `from`, its schedule id is `from * routes + slot % routes`.
        var slot: Int32
        var piece: Int32
        var remaining: Double
        var moved: Double = 0
        var startAt: Double
    }

    let scenario: SwarmScenario
    let pieceSize: Int64
    let pieceCount: Int
    let seeds: Int
    let nodeCount: Int
    let routes: Int
    /// One per consumer: `schedules[node - seeds]`.
    var schedules: [SwarmSchedule]
    /// Whom each node knows (seeds included); symmetric.
    var neighbors: [[Int]]
    var inbound: [[Transfer]]
    var uploadCapacity: [Double]
    var downloadCapacity: [Double]
    var uploads: [Int32]
    var downloads: [Int32]
    var sent: [Double]
    /// Bytes received from each neighbor since the schedule's last tick.
    var receivedBySlot: [[Double]]
    /// Pieces each consumer verified, in the order (and at the time) they arrived.
    var heldLog: [[(time: Double, piece: Int32)]]
    /// What each consumer answers about its pieces, and a version that changes with it.
    var published: [Bitfield]
    var publishedCursor: [Int]
    var publishedVersion: [Int]
    /// The version of each neighbor's answer each consumer last looked at.
    var seenVersion: [[Int]]
    /// Neighbors (by slot) whose schedule should be asked for work at the next pass.
    var pending: [[Int32]]
    var pendingFlag: [[Bool]]
    var askAll: [Bool]
    var wake: [Double]
    var startTime: [Double]
    var hashCarry: [Double]
    /// When each consumer held every piece, and when it had hashed the file.
    var heldAt: [Double?]
    var verifiedAt: [Double?]
    var verifiedCount = 0
    /// Pieces that arrived in the last step, with their receiver.
    var arrivals: [(node: Int, transfer: Transfer)] = []
    var wastedBytes = 0.0
    var drops = 0
    var now = 0.0

    init(_ scenario: SwarmScenario) {
        self.scenario = scenario
        pieceSize = scenario.chosenPieceSize
        pieceCount = scenario.pieceCount
        seeds = scenario.seeds
        nodeCount = scenario.seeds + scenario.consumers
        routes = max(1, scenario.routes)
        let routes = self.routes
        var random = SplitMix64(seed: scenario.randomSeed)
        neighbors = Self.graph(nodes: nodeCount, degree: scenario.neighbors, random: &random)
        let consumers = scenario.consumers
        inbound = Array(repeating: [], count: nodeCount)
        uploadCapacity = (0..<nodeCount).map { $0 < scenario.seeds ? scenario.seedUpload : scenario.upload }
        downloadCapacity = (0..<nodeCount).map { $0 < scenario.seeds ? 0 : scenario.download }
        uploads = Array(repeating: 0, count: nodeCount)
        downloads = Array(repeating: 0, count: nodeCount)
        sent = Array(repeating: 0, count: nodeCount)
        receivedBySlot = neighbors.map { Array(repeating: 0, count: $0.count * routes) }
        heldLog = Array(repeating: [], count: nodeCount)
        published = Array(repeating: Bitfield(count: pieceCount), count: nodeCount)
        publishedCursor = Array(repeating: 0, count: nodeCount)
        publishedVersion = Array(repeating: 0, count: nodeCount)
        seenVersion = neighbors.map { Array(repeating: 0, count: $0.count * routes) }
        pending = Array(repeating: [], count: nodeCount)
        pendingFlag = neighbors.map { Array(repeating: false, count: $0.count * routes) }
        askAll = Array(repeating: true, count: nodeCount)
        wake = Array(repeating: .infinity, count: nodeCount)
        startTime = (0..<nodeCount).map { _ in scenario.startSpread > 0 ? Double.random(in: 0..<scenario.startSpread, using: &random) : 0 }
        hashCarry = Array(repeating: 0, count: nodeCount)
        heldAt = Array(repeating: nil, count: nodeCount)
        verifiedAt = Array(repeating: nil, count: nodeCount)
        schedules = []
        schedules.reserveCapacity(consumers)
        for node in scenario.seeds..<nodeCount {
            var configuration = SwarmSchedule.Configuration()
            configuration.salt = random.next()
            var schedule = SwarmSchedule(
                totalSize: scenario.fileSize, pieceSize: pieceSize, verified: true, configuration: configuration)
            for peer in neighbors[node] {
                for route in 0..<routes {
                    schedule.addPeer(
                        peer * routes + route, have: peer < scenario.seeds ? nil : Bitfield(count: pieceCount),
                        channelLimit: scenario.channelLimit, now: startTime[node])
                }
            }
            schedules.append(schedule)
        }
    }

    /// Runs until every consumer has verified the file or the time limit; returns the figures.
    func run() -> SwarmRunResult {
        let steps = Int((scenario.timeLimit / scenario.step).rounded(.up))
        var nextLook = scenario.haveInterval
        var nextTick = 1.0
        for stepIndex in 0..<steps {
            now = Double(stepIndex) * scenario.step
            askForWork()
            flow()
            now = Double(stepIndex + 1) * scenario.step
            deliverArrivals()
            hashInOrder()
            if now >= nextLook {
                lookAtPeers()
                nextLook += scenario.haveInterval
            }
            if now >= nextTick {
                tickSchedules()
                nextTick += 1
            }
            if verifiedCount == scenario.consumers { break }
        }
        return result()
    }

    /// Every node knows `degree` others at random (about: each picks degree/2, links are
    /// both ways); 0 or a degree of at least the node count: everyone knows everyone.
    static func graph(nodes: Int, degree: Int, random: inout SplitMix64) -> [[Int]] {
        guard degree > 0, degree < nodes - 1 else {
            return (0..<nodes).map { node in (0..<nodes).filter { $0 != node } }
        }
        var links = Array(repeating: Set<Int>(), count: nodes)
        for node in 0..<nodes {
            var picked = 0
            while picked < (degree + 1) / 2 && links[node].count < nodes - 1 {
                let other = Int(random.next() % UInt64(nodes))
                guard other != node, !links[node].contains(other) else { continue }
                links[node].insert(other)
                links[other].insert(node)
                picked += 1
            }
        }
        return links.map { $0.sorted() }
    }

    func isSeed(_ node: Int) -> Bool { node < seeds }

    /// The node behind slot `slot` of `node`, and its id in `node`'s schedule.
    func peer(of node: Int, slot: Int) -> (node: Int, id: Int) {
        let peer = neighbors[node][slot / routes]
        return (peer, peer * routes + slot % routes)
    }

    /// The schedule id of the route a transfer came over.
    func scheduleID(of transfer: Transfer) -> Int { Int(transfer.from) * routes + Int(transfer.slot) % routes }

    /// A neighbor's route should be asked for work at the next pass.
    func markPending(_ node: Int, slot: Int) {
        guard !pendingFlag[node][slot] else { return }
        pendingFlag[node][slot] = true
        pending[node].append(Int32(slot))
    }
}

/// A small seeded generator (SplitMix64), so a run is the same for the same seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
