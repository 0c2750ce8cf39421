import AtmoProtocol

/// How a swarm pull ended, when it did not throw.
enum SwarmOutcome: Sendable {
    case pulled(PullResult)
    /// No piece manifest checked out: the pull goes on one source at a time. `suspects`
    /// named a manifest that was doubted: they are tried after every other source.
    case withoutManifest(suspects: [PullSource])
}

/// A piece manifest as a catalog entry names it.
struct ManifestName: Hashable, Sendable {
    var pieceSize: Int64
    var sha256: String

    init?(_ entry: ModelEntry) {
        guard let reference = entry.manifestReference else { return nil }
        (pieceSize, sha256) = (reference.pieceSize, reference.sha256)
    }
}

/// What every swarm session of one pull shares.
struct SwarmRun: Sendable {
    var request: PullRequest
    var started: ContinuousClock.Instant
    var requestID: String
    var progress: @Sendable (PullProgress) -> Void
    var onSourceOutcome: @Sendable (PullSource, SourceOutcome) -> Void
}

extension PullEngine {
    /// After the pinned manifest (`doubted`) was doubted: the manifests the other peers'
    /// entries name, the most named first, each fetched from a peer that names it (it must
    /// match its name) and tried by a swarm session without the peers that named the doubted
    /// one (a lying first source costs the pieces in flight at the doubt, not the file).
    /// Partial holders join only when their pieces have the same size; peers that named
    /// another manifest stay out. Returns nil when none checks out.
    func pullWithAnotherManifest(
        _ run: SwarmRun, entry: ModelEntry, doubted: ManifestName, peers: [SwarmPeer], namedBy: [SwarmSchedule.PeerID: ManifestName]
    ) async throws(TransferError) -> PullResult? {
        var counts: [ManifestName: Int] = [:]
        var order: [ManifestName] = []
        for peer in peers {
            guard let name = namedBy[peer.id], name != doubted else { continue }
            if counts[name] == nil { order.append(name) }
            counts[name, default: 0] += 1
        }
        let ranked = order.enumerated().sorted { (counts[$0.element]!, -$0.offset) > (counts[$1.element]!, -$1.offset) }.map(\.element)
        for name in ranked {
            let usable = peers.filter { peer in
                if let named = namedBy[peer.id] { return named == name }
                return peer.have == nil || name.pieceSize == doubted.pieceSize
            }
            var other = entry
            (other.pieceSize, other.piecesSHA256) = (name.pieceSize, name.sha256)
            // Renumbered from 0, as a session numbers the peers that join it.
            var renumbered: [SwarmPeer] = []
            var vouching: [SwarmSchedule.PeerID] = []
            for peer in usable {
                var copy = SwarmPeer(id: renumbered.count, source: peer.source, channel: peer.channel, have: peer.have)
                copy.alternates = peer.alternates
                if namedBy[peer.id] == name { vouching.append(copy.id) }
                renumbered.append(copy)
            }
            let namers = renumbered.filter { vouching.contains($0.id) }
            guard let manifest = await fetchManifest(for: other, from: namers) else { continue }
            logger.warning(
                "the piece manifest is doubted; trying the one the other sources name",
                metadata: ["model": "\(entry.modelID)", "doubted": "\(doubted.sha256)", "trying": "\(name.sha256)"])
            if let result = try await runSwarm(run, entry: other, manifest: manifest, peers: renumbered, vouching: vouching) {
                return result
            }
        }
        return nil
    }
}
