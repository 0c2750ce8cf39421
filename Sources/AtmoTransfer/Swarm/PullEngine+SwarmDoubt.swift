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
}

extension ManifestName {
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

/// How one swarm session with one manifest ended, when it did not throw.
enum SwarmTrialEnd: Sendable {
    case pulled(PullResult)
    /// Two peers' copies of a piece failed the manifest (its pieces are discarded).
    case doubted
    /// Every piece matched the manifest and the whole file failed the catalog's SHA-256:
    /// the manifest is wrong (`error` says so).
    case wrong(TransferError)
}

extension PullEngine {
    /// Runs the swarm sessions `trials` asks for, the pinned manifest (`pinnedManifest`)
    /// first: after a doubt, the manifest the other peers' entries name, each fetched from a
    /// peer that names it (it must match its name); after a manifest proven wrong by the
    /// whole-file hash, a doubted one again without the peers that named the wrong one (see
    /// `ManifestTrials`). A lying first source costs the pieces in flight at the doubt, two
    /// sybils one pull of the file from them, never the pull. Each verdict's blame goes to
    /// `onSourceOutcome`. Throws the last trial's error when it was a wrong manifest;
    /// returns `withoutManifest` when no manifest is left to try.
    func runTrials(
        _ run: SwarmRun, entry: ModelEntry, pinnedManifest: PieceManifest, peers: [SwarmPeer], trials: inout ManifestTrials
    ) async throws(TransferError) -> SwarmOutcome {
        let byID = Dictionary(peers.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let namedBy = Dictionary(trials.peers.compactMap { peer in peer.name.map { (peer.id, $0) } }, uniquingKeysWith: { first, _ in first })
        let blame = { (ids: [SwarmSchedule.PeerID], why: (String) -> String) in
            for id in ids {
                guard let source = byID[id]?.source else { continue }
                let reason = why(namedBy[id]?.sha256 ?? "?")
                run.onSourceOutcome(source, .failure(TransferError(.protocolViolation, "\(source): \(reason)")))
            }
        }
        var manifests = [trials.pinned: pinnedManifest]
        var trial: ManifestTrials.Trial? = trials.first()
        var lastWrong: TransferError? = nil
        var retried = false
        while let current = trial {
            trial = nil
            var named = entry
            (named.pieceSize, named.piecesSHA256) = (current.name.pieceSize, current.name.sha256)
            // Renumbered from 0, as a session numbers the peers that join it.
            var renumbered: [SwarmPeer] = []
            var vouching: [SwarmSchedule.PeerID] = []
            for id in current.peers {
                guard let peer = byID[id] else { continue }
                var copy = SwarmPeer(id: renumbered.count, source: peer.source, channel: peer.channel, have: peer.have)
                copy.alternates = peer.alternates
                if current.vouching.contains(id) { vouching.append(copy.id) }
                renumbered.append(copy)
            }
            if manifests[current.name] == nil {
                manifests[current.name] = await fetchManifest(for: named, from: renumbered.filter { vouching.contains($0.id) })
            }
            if let manifest = manifests[current.name] {
                if retried {
                    logger.warning(
                        "a piece manifest was doubted or proven wrong; trying another one the sources name",
                        metadata: ["model": "\(entry.modelID)", "trying": "\(current.name.sha256)"])
                }
                lastWrong = nil
                switch try await runSwarm(run, entry: named, manifest: manifest, peers: renumbered, vouching: vouching) {
                case .pulled(let result):
                    blame(trials.pulled(current.name)) { sha256 in
                        "its entry names a piece manifest (\(sha256)) that other sources' pieces fail, while the one they name checks out"
                    }
                    return .pulled(result)
                case .doubted:
                    _ = trials.ended(current.name, .doubted)
                case .wrong(let error):
                    lastWrong = error
                    blame(trials.ended(current.name, .wrong)) { sha256 in
                        "its entry names a piece manifest (\(sha256)) whose pieces all check out but make a file that fails the catalog's SHA-256"
                    }
                }
            }
            trial = trials.next()
            retried = true
        }
        if let lastWrong { throw lastWrong }
        logger.warning("the piece manifest is doubted; pulling without it", metadata: ["model": "\(entry.modelID)"])
        return .withoutManifest(suspects: trials.suspects.compactMap { byID[$0]?.source })
    }
}
