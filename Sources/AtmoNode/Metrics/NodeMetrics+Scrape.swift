import AtmoMesh
import AtmoProtocol
import AtmoStore

extension NodeMetrics {
    /// What a scrape reads from the node's other parts: gauges of now, and totals they keep.
    struct Sources: Sendable {
        let mesh: MeshState
        let downloads: DownloadManager
        let hub: TransferHub
        let hashing: HashCounters
    }

    /// Reads the gauges and the totals of `sources` into the registry, then renders it.
    func scrape(_ sources: Sources) -> String {
        let now = MeshState.now()
        let (models, peerCount) = sources.mesh.state.withLock { state in
            (state.catalogWithOwn(now: now).models.count, state.peers.peers.count)
        }
        set(.meshModels, to: models)
        set(.meshPeers, to: peerCount)
        let links = sources.hub.linkIDs
        let direct = links.filter { $0.hasPrefix(TransferHub.directLinkPrefix) }.count
        set(.relayConnections, to: links.count - direct)
        set(.directLinks, to: direct)

        var current: [String: Int] = [:]
        // Counted as they end (the list keeps only the last 100, and earlier runs' too).
        let finished = sources.downloads.finishedThisRun()
        for status in sources.downloads.list() where !status.state.isFinal {
            current[status.state.wireName, default: 0] += 1
        }
        for state in DownloadAPI.State.allKnown {
            if state.isFinal {
                sync(.downloadsFinished, labels: [("state", state.wireName)], to: finished[state.wireName] ?? 0)
            } else {
                set(.downloads, labels: [("state", state.wireName)], to: current[state.wireName] ?? 0)
            }
        }

        let hashing = sources.hashing.snapshot
        sync(.hashBytes, to: hashing.bytes)
        sync(.hashFiles, to: Int64(hashing.files))
        sync(.hashSeconds, seconds: hashing.seconds)

        let gossip = sources.mesh.gossipCounters.snapshot
        for kind in GossipCounters.Kind.allCases {
            sync(.gossipSent, labels: [("kind", kind.rawValue)], to: gossip.sent[kind] ?? 0)
            sync(.gossipReceived, labels: [("kind", kind.rawValue)], to: gossip.received[kind] ?? 0)
        }
        let refusals = sources.mesh.state.withLock { $0.gossip.refusalCounts }
        for reason in CatalogRefusal.Reason.allCases {
            sync(.gossipRefused, labels: [("reason", reason.rawValue)], to: Int64(refusals[reason] ?? 0))
        }
        return render()
    }
}
