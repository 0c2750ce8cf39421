import AtmoProtocol

extension GossipNetworkSimulator {
    /// How nodes that know only their configured peers found each other (issue 14).
    package struct StaticJoinReport: Sendable {
        /// Pairs (node, configured peer) in both directions that must know each other's catalog.
        package var pairs: Int
        /// Rounds until every pair knew the other's catalog; nil if some never did.
        package var roundsUntilAllKnown: Int?
        /// Pairs still missing a catalog when the network went quiet, as "node <- origin".
        package var missing: [String]
        /// Simulated seconds until then, against the periodic re-publication interval.
        package var secondsUntilAllKnown: Double? { roundsUntilAllKnown.map { Double($0) * Double(roundMs) / 1000 } }
        package var roundMs: Int64
        package var messages: Int
    }

    /// Outside the mesh, the `staticNodes` start as a person would start them with `--peer`
    /// and no discovery: three loners that know nobody, then a newcomer configured with the
    /// three (it introduces itself to each, and pulls from one); and a node that knows
    /// nobody whose only peer (configured with it) contacts it first. Every node must end
    /// up with the catalog of each node it is configured with, and those with its, in a
    /// few rounds: none may wait for the periodic re-publication (`publishIntervalMs`).
    /// No message is lost here (the question is the order in which messages arrive; a
    /// lost push is not retried before the next publication, with any rule). The run is
    /// far shorter than a re-publication interval.
    package mutating func staticPeersJoin(maxRounds: Int = 40) -> StaticJoinReport {
        lossless = true
        defer { lossless = false }
        let statics = Array(staticNodes)
        let (loners, newcomer, quiet, caller) = (Array(statics[0..<3]), statics[3], statics[4], statics[5])
        let start = traffic
        for node in loners + [quiet] {
            running[node] = true
            send(nodes[node].start(now: now), from: node)
        }
        runUntilQuiet(maxRounds: 4)
        var pairs: [(node: Int, origin: Int)] = []
        for (node, peers) in [(newcomer, loners), (caller, [quiet])] {
            running[node] = true
            // As the node does: start, then the configured peers.
            send(nodes[node].start(now: now), from: node)
            for peer in peers {
                send(nodes[node].peerDiscovered(peer, now: now), from: node)
                pairs += [(node, peer), (peer, node)]
            }
        }
        func missing() -> [String] {
            pairs.filter { nodes[$0.node].catalog(of: nodeIDs[$0.origin]) == nil }.map { "\($0.node) <- \($0.origin)" }
        }
        var report = StaticJoinReport(pairs: pairs.count, missing: [], roundMs: configuration.roundMs, messages: 0)
        var rounds = 0
        while rounds < maxRounds, !isQuiet || !missing().isEmpty {
            runRound()
            rounds += 1
            if report.roundsUntilAllKnown == nil, missing().isEmpty { report.roundsUntilAllKnown = rounds }
        }
        report.missing = missing()
        report.messages = (traffic - start).messages
        return report
    }

    mutating func runUntilQuiet(maxRounds: Int) {
        var rounds = 0
        while !isQuiet, rounds < maxRounds {
            runRound()
            rounds += 1
        }
    }
}
