import AtmoProtocol

/// A network of real `GossipState` nodes exchanging messages in synchronous rounds: what
/// a node sends in one round is delivered in the next, each message lost with probability
/// `loss`. Pushes to dead nodes fail visibly (`pushFailed`), as a refused HTTP connection
/// would; lost messages vanish silently (the pessimistic case). Used by the
/// `atmo-gossip-sim` executable and by the mesh tests; see docs/MESH.md.
package struct GossipNetworkSimulator {
    package struct Configuration: Sendable {
        /// Nodes of the mesh, not counting the one spare node `joinNewNode` starts later.
        package var nodeCount: Int
        /// Probability that a message is lost.
        package var loss: Double
        package var seed: UInt64
        /// Random peers each node knows before gossip starts.
        package var initialViewSize: Int
        package var gossip: GossipConfiguration
        /// Simulated time per round.
        package var roundMs: Int64

        package init(
            nodeCount: Int, loss: Double = 0.05, seed: UInt64 = 1, initialViewSize: Int = 8,
            gossip: GossipConfiguration = GossipConfiguration(), roundMs: Int64 = 500
        ) {
            self.nodeCount = max(2, nodeCount)
            self.loss = min(1, max(0, loss))
            self.seed = seed
            self.initialViewSize = max(1, initialViewSize)
            self.gossip = gossip
            self.roundMs = max(1, roundMs)
        }
    }

    /// Messages sent and their JSON bytes.
    package struct Traffic: Sendable, Hashable {
        package var messages = 0
        package var bytes = 0

        package static func - (lhs: Traffic, rhs: Traffic) -> Traffic {
            Traffic(messages: lhs.messages - rhs.messages, bytes: lhs.bytes - rhs.bytes)
        }
    }

    enum Payload {
        case push(ModelCatalog)
        case pullRequest
        case pullResponse([ModelCatalog])
        /// To the sender of a push that could not be delivered (`from` is the dead peer).
        case pushFailed(ModelCatalog)
        /// To the node whose pull got no answer.
        case pullFailed
    }

    struct Envelope {
        var from: Int
        var to: Int
        var payload: Payload
    }

    struct RelayKey: Hashable {
        var node: Int
        var origin: String
        var timestamp: Int64
    }

    struct SizeKey: Hashable {
        var origin: String
        var timestamp: Int64
    }

    package let configuration: Configuration
    package internal(set) var nodes: [GossipState<Int>] = []
    package internal(set) var alive: [Bool]
    package internal(set) var running: [Bool]
    package let nodeIDs: [String]
    var random: SplitMix64
    package internal(set) var now: Int64 = 1_760_000_000_000
    var inFlight: [Envelope] = []
    /// Everything sent since the simulation began.
    package internal(set) var traffic = Traffic()
    /// The last answer to a pull: catalogs and bytes.
    package internal(set) var lastPullAnswer = (catalogs: 0, bytes: 0)
    var sizeCache: [SizeKey: Int] = [:]
    /// (node, origin, timestamp) relayed, while `trackRelays` is on.
    var relayed: Set<RelayKey> = []
    var trackRelays = false
    /// Relay decisions taken twice for the same (origin, timestamp) by one node: must stay 0.
    package internal(set) var duplicateRelays = 0
    var trainedSerial = 1
    /// While true, no message is lost (a scenario about ordering, not loss).
    var lossless = false

    /// The index of the spare node that `joinNewNode` starts.
    package var joinerIndex: Int { configuration.nodeCount }
    /// Nodes outside the mesh that `staticPeersJoin` starts with configured peers only.
    package var staticNodes: Range<Int> { (configuration.nodeCount + 1)..<nodes.count }
    /// How many `staticNodes` there are.
    static let staticNodeCount = 6

    /// Builds the nodes (each with a few realistic models) and gives each mesh node
    /// `initialViewSize` random peers. Nothing runs yet.
    package init(_ configuration: Configuration) {
        self.configuration = configuration
        var random = SplitMix64(seed: configuration.seed)
        let total = configuration.nodeCount + 1
        var ids: [String] = []
        var seen = Set<String>()
        for index in 0..<total {
            var id = SimulatedCatalogs.nodeID(index: index, using: &random)
            while !seen.insert(id).inserted { id = SimulatedCatalogs.nodeID(index: index, using: &random) }
            ids.append(id)
        }
        // The static-peer nodes draw from their own generator, so the mesh's figures do not
        // depend on them.
        var staticRandom = SplitMix64(seed: configuration.seed ^ 0x5747_4154_4943)
        for index in total..<(total + Self.staticNodeCount) {
            var id = SimulatedCatalogs.nodeID(index: index, using: &staticRandom)
            while !seen.insert(id).inserted { id = SimulatedCatalogs.nodeID(index: index, using: &staticRandom) }
            ids.append(id)
        }
        let indexByID = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
        let peerAddress: @Sendable (ModelCatalog) -> Int? = { indexByID[$0.nodeID] }
        let shared = SimulatedCatalogs.sharedModels(using: &random)
        for index in 0..<total {
            let endpoints = ModelCatalog.TransferEndpoints(
                http: "http://10.\((index >> 16) & 255).\((index >> 8) & 255).\(index & 255):14750")
            nodes.append(
                GossipState(
                    nodeID: ids[index], nodeName: "node-\(index)", transferEndpoints: endpoints,
                    models: SimulatedCatalogs.models(node: index, shared: shared, using: &random),
                    configuration: configuration.gossip, random: SplitMix64(seed: random.next()),
                    peerAddress: peerAddress))
        }
        for index in total..<ids.count {
            nodes.append(
                GossipState(
                    nodeID: ids[index], nodeName: "static-\(index - total)",
                    transferEndpoints: .init(http: "http://10.255.255.\(index - total):14750"),
                    models: SimulatedCatalogs.models(node: index, shared: shared, using: &staticRandom),
                    configuration: configuration.gossip, random: SplitMix64(seed: staticRandom.next()),
                    peerAddress: peerAddress))
        }
        let meshSize = configuration.nodeCount
        for index in 0..<meshSize {
            var view = Set<Int>()
            while view.count < min(configuration.initialViewSize, meshSize - 1) {
                let peer = random.index(below: meshSize)
                if peer != index, view.insert(peer).inserted {
                    _ = nodes[index].peerDiscovered(peer, now: now)
                }
            }
        }
        nodeIDs = ids
        alive = Array(repeating: true, count: ids.count)
        running = Array(repeating: false, count: ids.count)
        self.random = random
    }

    /// Whether no message is in flight.
    package var isQuiet: Bool { inFlight.isEmpty }

    /// Live, running nodes.
    package var liveNodes: [Int] { nodes.indices.filter { alive[$0] && running[$0] } }

    /// One round: delivers what was sent in the previous one, then ticks every node.
    package mutating func runRound() {
        now += configuration.roundMs
        let batch = inFlight
        inFlight = []
        for envelope in batch { deliver(envelope) }
        for index in nodes.indices where alive[index] && running[index] {
            send(nodes[index].tick(now: now), from: index)
        }
    }

    /// The fraction of live nodes that know the catalog of `origin` at `timestamp` or newer.
    package func coverage(of origin: Int, timestamp: Int64) -> Double {
        let live = liveNodes
        guard !live.isEmpty else { return 0 }
        let originID = nodeIDs[origin]
        let knowing = live.filter { (nodes[$0].knownTimestamp(of: originID) ?? .min) >= timestamp }.count
        return Double(knowing) / Double(live.count)
    }
}
