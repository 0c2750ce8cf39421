import AtmoProtocol

extension GossipNetworkSimulator {
    /// How one catalog spread through the mesh.
    package struct WaveReport: Sendable {
        /// Rounds until 99 % (100 %) of live nodes knew it; nil if never within the run.
        package var roundsTo99: Int?
        package var roundsTo100: Int?
        /// Coverage when the network went quiet (or the round limit was hit).
        package var finalCoverage: Double
        /// Rounds until no message was in flight.
        package var rounds: Int
        package var liveNodes: Int
        /// Everything sent during the wave (relays, substitutes after failures).
        package var traffic: Traffic
        /// The most messages (bytes) sent in one round, per live node.
        package var peakMessagesPerNodeRound: Double
        package var peakBytesPerNodeRound: Double
        /// Relay decisions repeated for one (origin, timestamp) by a node (must be 0).
        package var duplicateRelays: Int
        /// Rounds until the origin held the catalogs of 99 % of the other live nodes.
        package var roundsUntilOriginKnew99: Int?

        package var messagesPerNode: Double { Double(traffic.messages) / Double(max(1, liveNodes)) }
        package var bytesPerNode: Double { Double(traffic.bytes) / Double(max(1, liveNodes)) }
    }

    /// Runs rounds until the network is quiet, reporting how the catalog of `origin` at
    /// `timestamp` spread (and how much of the mesh the origin learned meanwhile).
    package mutating func followWave(origin: Int, timestamp: Int64, maxRounds: Int = 100) -> WaveReport {
        let start = traffic
        let repeatsBefore = duplicateRelays
        var report = WaveReport(
            finalCoverage: coverage(of: origin, timestamp: timestamp), rounds: 0, liveNodes: liveNodes.count,
            traffic: Traffic(), peakMessagesPerNodeRound: 0, peakBytesPerNodeRound: 0, duplicateRelays: 0)
        // Quiet means nothing in flight and no join pull of the origin waiting for a retry.
        while !isQuiet || nodes[origin].isPullPending, report.rounds < maxRounds {
            let before = traffic
            runRound()
            report.rounds += 1
            let sent = traffic - before
            let live = Double(max(1, report.liveNodes))
            report.peakMessagesPerNodeRound = max(report.peakMessagesPerNodeRound, Double(sent.messages) / live)
            report.peakBytesPerNodeRound = max(report.peakBytesPerNodeRound, Double(sent.bytes) / live)
            let covered = coverage(of: origin, timestamp: timestamp)
            if covered >= 0.99, report.roundsTo99 == nil { report.roundsTo99 = report.rounds }
            if covered >= 1, report.roundsTo100 == nil { report.roundsTo100 = report.rounds }
            if report.roundsUntilOriginKnew99 == nil, meshKnownBy(origin) >= 0.99 {
                report.roundsUntilOriginKnew99 = report.rounds
            }
            report.finalCoverage = covered
        }
        report.traffic = traffic - start
        report.duplicateRelays = duplicateRelays - repeatsBefore
        return report
    }

    /// A new model appears on a random live node, which publishes; follows the wave.
    package mutating func newModelWave(maxRounds: Int = 100) -> WaveReport {
        let live = liveNodes.filter { $0 != joinerIndex }
        let origin = live[random.index(below: live.count)]
        let model = SimulatedCatalogs.trainedModel(node: origin, serial: trainedSerial, using: &random)
        trainedSerial += 1
        trackRelays = true
        relayed = []
        send(nodes[origin].inventoryChanged(nodes[origin].ownCatalog.models + [model], now: now), from: origin)
        let report = followWave(origin: origin, timestamp: nodes[origin].ownCatalog.timestamp, maxRounds: maxRounds)
        trackRelays = false
        relayed = []
        return report
    }

    /// Kills `fraction` of the live mesh nodes at random (silently: no goodbye). Returns how many.
    @discardableResult
    package mutating func killNodes(fraction: Double) -> Int {
        var live = liveNodes.filter { $0 != joinerIndex }
        let count = Int((Double(live.count) * fraction).rounded())
        for _ in 0..<count {
            let victim = live.remove(at: random.index(below: live.count))
            alive[victim] = false
        }
        return count
    }

    /// How a node joining the running mesh caught up, and how the mesh learned of it.
    package struct JoinReport: Sendable {
        /// Rounds until the new node held the catalogs of 99 % of the live nodes.
        package var roundsToKnowMesh: Int?
        /// The share of the other live nodes whose catalogs it held when the network was quiet.
        package var knownShare: Double
        /// Catalogs and bytes of the answer to its pull.
        package var pulledCatalogs: Int
        package var pullBytes: Int
        /// The spread of its own catalog.
        package var wave: WaveReport
    }

    /// Starts the spare node knowing one random live peer: it pushes its catalog to that
    /// peer and pulls everything from it.
    package mutating func joinNewNode(maxRounds: Int = 100) -> JoinReport {
        let joiner = joinerIndex
        let live = liveNodes
        _ = nodes[joiner].peerDiscovered(live[random.index(below: live.count)], now: now)
        running[joiner] = true
        lastPullAnswer = (0, 0)
        send(nodes[joiner].start(now: now), from: joiner)
        let wave = followWave(origin: joiner, timestamp: nodes[joiner].ownCatalog.timestamp, maxRounds: maxRounds)
        return JoinReport(
            roundsToKnowMesh: wave.roundsUntilOriginKnew99, knownShare: meshKnownBy(joiner),
            pulledCatalogs: lastPullAnswer.catalogs,
            pullBytes: lastPullAnswer.bytes, wave: wave)
    }

    /// The fraction of the other live nodes whose catalog `node` holds.
    package func meshKnownBy(_ node: Int) -> Double {
        let others = liveNodes.filter { $0 != node }
        guard !others.isEmpty else { return 1 }
        return Double(others.filter { nodes[node].catalog(of: nodeIDs[$0]) != nil }.count) / Double(others.count)
    }

    /// The periodic re-announcement of unchanged catalogs, measured on `sampleOrigins`
    /// random live nodes re-publishing at once and scaled to the whole mesh.
    package struct RefreshReport: Sendable {
        /// Messages (bytes) one origin's refresh costs the whole mesh.
        package var messagesPerOrigin: Double
        package var bytesPerOrigin: Double
        package var liveNodes: Int

        /// Every live node refreshes once per interval, so each node sends on average
        /// what one refresh costs the mesh: O(N).
        package var messagesPerNodePerInterval: Double { messagesPerOrigin }
        package var bytesPerNodePerInterval: Double { bytesPerOrigin }
    }

    package mutating func refreshCost(sampleOrigins: Int, maxRounds: Int = 100) -> RefreshReport {
        var live = liveNodes.filter { $0 != joinerIndex }
        let count = min(sampleOrigins, live.count)
        let start = traffic
        for _ in 0..<count {
            let origin = live.remove(at: random.index(below: live.count))
            send(nodes[origin].republish(now: now), from: origin)
        }
        var rounds = 0
        while !isQuiet, rounds < maxRounds {
            runRound()
            rounds += 1
        }
        let spent = traffic - start
        return RefreshReport(
            messagesPerOrigin: Double(spent.messages) / Double(max(1, count)),
            bytesPerOrigin: Double(spent.bytes) / Double(max(1, count)), liveNodes: liveNodes.count)
    }
}
