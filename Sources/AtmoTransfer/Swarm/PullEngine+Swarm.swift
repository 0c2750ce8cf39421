import AtmoProtocol
import AtmoStore
import Foundation

extension PullEngine {
    /// The most peers one swarm pull talks to at once.
    static let maxSwarmPeers = 16

    /// A pull of `entry`, which names a piece manifest, from `first` (whose look-up pinned
    /// it) and every other source that holds it, whole or in part, at once. Returns
    /// `withoutManifest` when no source serves a manifest that checks out: the caller then
    /// goes on one source at a time, trusting the whole-file hash alone. When the pinned
    /// manifest is doubted, the one the other sources' entries name is tried before that, and
    /// a doubted one again once another proves wrong (`runTrials`, `ManifestTrials`).
    func swarmPull(
        _ request: PullRequest, entry: ModelEntry, first: PullSource, firstChannel: any SourceChannel, firstHave: Bitfield? = nil,
        others: [PullSource],
        requestID: String, progress: @escaping @Sendable (PullProgress) -> Void,
        onSourceOutcome: @escaping @Sendable (PullSource, SourceOutcome) -> Void
    ) async throws(TransferError) -> SwarmOutcome {
        let started = ContinuousClock.now
        // The first source's node is in already: its other routes are its fall-backs.
        let sameNode = { (source: PullSource) in first.nodeID != nil && source.nodeID == first.nodeID }
        let joined = await lookUp(others.filter { !sameNode($0) }, for: entry)
        var firstPeer = SwarmPeer(id: 0, source: first, channel: firstChannel, have: firstHave)
        firstPeer.alternates = others.filter(sameNode)
        // What each peer's own entry names (the first one's is `entry`'s, unless borrowed).
        var namedBy: [SwarmSchedule.PeerID: ManifestName] = [:]
        namedBy[0] = ManifestName(entry)
        // An older first source names no manifest: another source's entry for the same file may.
        var named = entry
        if named.manifestReference == nil {
            guard let other = joined.compactMap(\.entry).first(where: { $0.manifestReference != nil }) else {
                return .withoutManifest(suspects: [])
            }
            (named.pieceSize, named.piecesSHA256) = (other.pieceSize, other.piecesSHA256)
        }
        let entry = named
        var peers = [firstPeer]
        for (index, candidate) in joined.prefix(Self.maxSwarmPeers - 1).enumerated() {
            var peer = SwarmPeer(id: index + 1, source: candidate.source, channel: candidate.channel, have: candidate.have)
            peer.alternates = candidate.alternates
            peers.append(peer)
            namedBy[peer.id] = candidate.entry.flatMap(ManifestName.init)
        }
        guard let pinned = ManifestName(entry), let manifest = await fetchManifest(for: entry, from: peers) else {
            return .withoutManifest(suspects: [])
        }
        let run = SwarmRun(request: request, started: started, requestID: requestID, progress: progress, onSourceOutcome: onSourceOutcome)
        var trials = ManifestTrials(
            pinned: pinned, peers: peers.map { ManifestTrials.Peer(id: $0.id, name: namedBy[$0.id], partial: $0.have != nil) })
        return try await runTrials(run, entry: entry, pinnedManifest: manifest, peers: peers, trials: &trials)
    }

    /// Runs one swarm session with `manifest`; `vouching` are the peers whose own entries name
    /// it. A doubted manifest (its pieces are discarded) or a wrong one (every piece matched
    /// it, the whole file failed) blames nobody here: the caller decides.
    func runSwarm(
        _ run: SwarmRun, entry: ModelEntry, manifest: PieceManifest, peers: [SwarmPeer], vouching: [SwarmSchedule.PeerID]
    ) async throws(TransferError) -> SwarmTrialEnd {
        logger.info(
            "pulling from the swarm",
            metadata: ["model": "\(entry.modelID)", "peers": "\(peers.count)", "pieces": "\(manifest.pieceCount)"])
        let (request, requestID, progress) = (run.request, run.requestID, run.progress)
        let session = try await blocking { [self, peers] () throws -> SwarmSession in
            try SwarmSession(
                engine: self, request: request, entry: entry, manifest: manifest, peers: peers, requestID: requestID, progress: progress)
        }
        session.coordinator.vouchForManifest(vouching)
        do {
            let (path, fetched) = try await session.run()
            reportOutcomes(of: session, success: true, seconds: (ContinuousClock.now - run.started).seconds, run.onSourceOutcome)
            let database = self.database
            _ = try? await blocking { try database.rememberManifest(sha256: entry.sha256, manifest) }
            return .pulled(
                PullResult(
                    entry: entry, path: path, bytesTransferred: fetched, resumedBytes: session.startBytes, alreadyInstalled: false,
                    seconds: (ContinuousClock.now - run.started).seconds))
        } catch {
            if session.coordinator.manifestDoubted { return .doubted }
            reportOutcomes(of: session, success: false, seconds: (ContinuousClock.now - run.started).seconds, run.onSourceOutcome)
            // Every piece held and checked, and still a hash mismatch: the whole file failed.
            if error.code == .hashMismatch && session.coordinator.schedule.isComplete { return .wrong(error) }
            throw error
        }
    }

    /// A source that holds the file, with its node's other routes.
    struct Candidate: Sendable {
        var source: PullSource
        var channel: any SourceChannel
        var have: Bitfield?
        var alternates: [PullSource]
        /// Its entry, when it offers the file whole.
        var entry: ModelEntry? = nil
    }

    /// Asks `sources` at once whether they hold `entry`: whole (their entry matches) or in
    /// part (they answer which pieces they hold). One route per node is asked, the first
    /// (the best); the node's other routes come with it as fall-backs.
    func lookUp(_ sources: [PullSource], for entry: ModelEntry) async -> [Candidate] {
        var seenNodes = Set<String>()
        let unique = sources.filter { source in source.nodeID.map { seenNodes.insert($0).inserted } ?? true }
        let routes: @Sendable (PullSource) -> [PullSource] = { source in
            sources.filter { $0 != source && source.nodeID != nil && $0.nodeID == source.nodeID }
        }
        let pieceCount = PieceManifest.pieceCount(fileSize: entry.sizeBytes, pieceSize: entry.pieceSize ?? 1)
        return await withTaskGroup(of: (Int, Candidate?).self) { group in
            for (index, source) in unique.enumerated() {
                group.addTask { [self] in
                    let channel = channel(to: source)
                    if let offered = try? await channel.entry(modelID: entry.modelID) {
                        guard offered.sha256 == entry.sha256, offered.sizeBytes == entry.sizeBytes else { return (index, nil) }
                        return (index, Candidate(source: source, channel: channel, have: nil, alternates: routes(source), entry: offered))
                    }
                    // Not offered whole: maybe held in part, by a node pulling it now.
                    guard entry.pieceSize != nil, let availability = try? await channel.availability(sha256: entry.sha256),
                        availability.pieceSize == entry.pieceSize, availability.pieceCount == pieceCount, let bytes = availability.haveBytes
                    else { return (index, nil) }
                    let have = Bitfield(count: pieceCount, bytes: bytes)
                    return (index, Candidate(source: source, channel: channel, have: have.setCount == pieceCount ? nil : have, alternates: []))
                }
            }
            var found: [(Int, Candidate)] = []
            for await (index, result) in group { if let result { found.append((index, result)) } }
            return found.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// The manifest `entry` names, from the first peer whose copy checks out, over whatever
    /// route the peer is reached by (HTTP, direct WebSocket or relay).
    func fetchManifest(for entry: ModelEntry, from peers: [SwarmPeer]) async -> PieceManifest? {
        for peer in peers {
            do {
                if let manifest = try await peer.channel.manifest(for: entry) { return manifest }
            } catch {
                logger.info("no usable piece manifest from this peer", metadata: ["peer": "\(peer.source)", "error": "\(error)"])
            }
        }
        return nil
    }

    /// Tells the caller how each peer did: those that delivered kept pieces succeeded (when
    /// the pull did), those dropped for bad pieces or failures failed (a slow peer is not an
    /// unreliable one).
    private func reportOutcomes(
        of session: SwarmSession, success: Bool, seconds: Double, _ onSourceOutcome: @Sendable (PullSource, SourceOutcome) -> Void
    ) {
        let (delivered, dropped, errors) = (session.coordinator.delivered, session.coordinator.dropped, session.coordinator.lastErrors)
        for peer in session.peers {
            if let reason = dropped[peer.id], !reason.isSlow {
                let error =
                    errors[peer.id]
                    ?? TransferError(
                        reason == .unusable ? .sourceChanged : .protocolViolation, "\(peer.source): \(SwarmSession.describe(reason))")
                onSourceOutcome(peer.source, .failure(error))
            } else if success, let bytes = delivered[peer.id], bytes > 0 {
                onSourceOutcome(peer.source, .success(bytes: bytes, seconds: seconds))
            }
        }
    }
}

extension SwarmSchedule.DropReason {
    var isSlow: Bool {
        if case .slow = self { return true }
        return false
    }
}
