import AtmoProtocol
import Foundation

extension SwarmSession {
    /// How often a partial holder is asked which pieces it holds (a small JSON answer; the
    /// sooner a piece is known, the sooner others take it from there instead of the seed).
    static let haveInterval = Duration.milliseconds(500)

    /// How often the caller's sources are asked again for nodes that joined the swarm.
    static let discoveryInterval = Duration.seconds(2)

    /// Every `discoveryInterval`: sources not in the pull yet that hold the file, whole or in
    /// part, join it (up to `PullEngine.maxSwarmPeers`); each runs its workers here.
    func discoverPeers(_ discover: @escaping @Sendable () async -> [PullSource]) async {
        await withTaskGroup(of: Void.self) { group in
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.discoveryInterval)
                if Task.isCancelled || coordinator.schedule.isComplete { break }
                let known = peers
                guard known.count < PullEngine.maxSwarmPeers else { continue }
                let knownNodes = Set(known.compactMap(\.source.nodeID))
                let knownURLs = Set(known.map(\.source.baseURL))
                let fresh = await discover().filter { source in
                    !knownURLs.contains(source.baseURL) && !(source.nodeID.map(knownNodes.contains) ?? false)
                }
                guard !fresh.isEmpty else { continue }
                let found = await engine.lookUp(fresh, for: entry)
                let joined = peerList.withLock { list -> [SwarmPeer] in
                    var joined: [SwarmPeer] = []
                    for candidate in found where list.count < PullEngine.maxSwarmPeers {
                        var peer = SwarmPeer(id: list.count, source: candidate.source, channel: candidate.channel, have: candidate.have)
                        peer.alternates = candidate.alternates
                        list.append(peer)
                        joined.append(peer)
                    }
                    return joined
                }
                for peer in joined {
                    logger.info("a peer joined the swarm", metadata: ["peer": "\(peer.source)", "partial": "\(peer.have != nil)"])
                    coordinator.addPeer(
                        peer.id, have: peer.have, channelLimit: peer.channel.maxConcurrentPieces, hasFallback: !peer.alternates.isEmpty)
                    group.addTask { await self.serve(peer) }
                    if peer.refreshesHave { group.addTask { await self.refreshHave(of: peer) } }
                }
            }
            group.cancelAll()
        }
    }

    /// Asks a partial holder for its pieces every `haveInterval` while the pull runs, over
    /// its channel's route (`GET .../have`, or a `piece_query` through a relay or WebSocket).
    func refreshHave(of peer: SwarmPeer) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.haveInterval)
            if Task.isCancelled || coordinator.isRemoved(peer.id) { return }
            guard let availability = try? await peer.channel.availability(sha256: entry.sha256),
                availability.pieceSize == manifest.pieceSize, availability.pieceCount == manifest.pieceCount,
                let bytes = availability.haveBytes
            else { continue }
            coordinator.updateHave(peer.id, Bitfield(count: manifest.pieceCount, bytes: bytes))
        }
    }
}
