/// How a peer became known, for `atmo peers` and for the rules of the peer table.
public enum PeerOrigin: String, Sendable, Codable {
    /// `--peer` or `config.json`: kept, and tried again, whatever happens.
    case configured
    /// DNS-SD on the LAN.
    case lan
    /// The `transfer_endpoints` of a catalog that gossip brought.
    case gossip
    /// Present on a relay this node is connected to, or the sender of a catalog a relay delivered.
    case relay
}

/// The node's table of peers as a pure state machine: what is known of each peer (by node
/// id), which addresses are not yet tied to a node, and the rules that decide when a peer
/// counts as gone. Events come in (discovered, learned from a catalog, present on or gone
/// from a relay, probe answered or failed, transfer outcome); `Action`s come out for the
/// node to perform (probe an address now, gossip with an address, drop a departed node's
/// models). No clock, no I/O: time comes in as Unix epoch milliseconds. See docs/MESH.md,
/// "The peer table".
///
/// The rules, in one place:
/// - A peer present on a relay stays while it is there, whatever its HTTP endpoint does.
/// - Otherwise a peer whose endpoint fails `failedProbesBeforeDeparture` probes in a row
///   is gone (`.departed`).
/// - A configured peer that goes (for any reason) leaves its configured addresses in
///   `pending`, to be tried again; a configured address that answers with a node already
///   known makes that peer configured.
/// - A peer that leaves its last relay stays only if its endpoint answered its last probe.
/// - A peer known only from gossip goes with its catalog (`forgotten`).
/// - A LAN peer goes when its DNS-SD instance says goodbye (unless a relay still has it).
/// - A peer with a relay route and an endpoint never probed is probed at once (`.probe`),
///   and until that probe answers its endpoint does not count as a direct route
///   (`PeerStats.hasDirectHTTP`): a pull takes the relay first.
package struct PeerTable: Sendable {
    /// One peer.
    package struct Peer: Sendable, Hashable {
        /// What is known and measured of it (its HTTP endpoint, reachability, latency...).
        package var stats: PeerStats
        package var origin: PeerOrigin
        /// The relays (URLs) it is connected through, as this node's relay links see it.
        package var relays: Set<String> = []
        /// Its DNS-SD instance name, when it was found on the LAN.
        package var lanInstanceName: String?
        /// The configured addresses (`--peer`, `config.json`) that answered as this node: put
        /// back in `pending` when it goes. It may serve elsewhere (`stats.httpURL`, from its
        /// catalog), e.g. configured as `localhost` while it advertises its host name.
        package var configuredURLs: Set<String> = []
        /// A probe of its (unproven) endpoint was asked for.
        var probeAsked = false
        /// How its last probe failed; nil when it answered (or was not probed yet).
        package var probeFailure: ProbeFailure?

        /// `held`, an address that turned out to be this peer: the peer takes its origin
        /// when that says more (configured over all, LAN over gossip), remembers it when it
        /// is configured, and takes its DNS-SD instance name.
        mutating func adopt(_ held: Pending, at url: String) {
            if held.origin == .configured {
                configuredURLs.insert(url)
                origin = .configured
            } else if held.origin == .lan, origin == .gossip {
                origin = .lan
            }
            if let instanceName = held.instanceName { lanInstanceName = instanceName }
        }
    }

    /// An address from the configuration or discovery, not yet tied to a node id.
    package struct Pending: Sendable, Hashable {
        package var origin: PeerOrigin
        /// The node id discovery announced (the DNS-SD TXT `node_id`): the peer's id when its
        /// `/health` does not name it (an older node).
        package var nodeID: String?
        /// The name discovery announced (TXT `node_name`, else the instance name).
        package var nodeName: String?
        /// The DNS-SD instance name, for a LAN address.
        package var instanceName: String?
        /// Its probes' record, as `PeerStats.reliability`: 1 until a probe fails (a configured
        /// address that never answers falls, as a peer's endpoint would).
        package var reliability = 1.0
        /// How its last probe failed; nil when not probed yet.
        package var probeFailure: ProbeFailure?

        package init(origin: PeerOrigin, nodeID: String? = nil, nodeName: String? = nil, instanceName: String? = nil) {
            self.origin = origin
            self.nodeID = nodeID
            self.nodeName = nodeName
            self.instanceName = instanceName
        }
    }

    /// How a probe of `GET /health` failed.
    package enum ProbeFailure: String, Sendable, Hashable {
        /// No whole answer within the probe's deadline (down without a word, or trickling).
        case timeout
        /// Refused, an error status, or an answer that does not decode.
        case failed
    }

    /// What the node does after an event.
    package enum Action: Sendable, Hashable {
        /// Probe `GET /health` of this base URL now, not at the next round.
        case probe(String)
        /// Gossip with this base URL (`GossipState.peerDiscovered`).
        case gossipWith(String)
        /// This base URL is this very node: no peer (`GossipState.peerUnreachable`).
        case notAPeer(String)
        /// The node is gone: its models leave the mesh catalog and its address the gossip
        /// view (`GossipState.nodeDeparted`).
        case departed(nodeID: String, url: String?)
    }

    /// This node's id: never a peer.
    package let ownNodeID: String
    /// Most peers (and most pending addresses) held: a hostile mesh cannot grow the table.
    package let capacity: Int
    /// Probes left unanswered in a row before a peer no relay has counts as gone.
    package let failedProbesBeforeDeparture: Int

    /// The peers, by node id.
    package internal(set) var peers: [String: Peer] = [:]
    /// Addresses not yet tied to a node id, by base URL.
    package internal(set) var pending: [String: Pending] = [:]
    /// Probes of a base URL that failed in a row.
    package internal(set) var probeFailures: [String: Int] = [:]
    /// Grows on every change a view of the peers would show, except a peer's last-seen time
    /// alone: that moves each time its catalog or relay presence is heard (about once a
    /// second in a quiet mesh), so it grows the revision at most once per
    /// `lastSeenRefreshMs` (`noteChange`).
    package internal(set) var revision: UInt64 = 0
    /// When a last-seen time alone last grew `revision` (ms).
    package internal(set) var lastSeenRevisionMs: Int64?
    /// Shortest time between two revisions caused by last-seen times alone: the peers view
    /// (`last_seen`) is refreshed this often in a mesh where nothing else changes.
    package static let lastSeenRefreshMs: Int64 = 60_000

    package init(ownNodeID: String, capacity: Int = 2048, failedProbesBeforeDeparture: Int = 3) {
        self.ownNodeID = ownNodeID
        self.capacity = max(1, capacity)
        self.failedProbesBeforeDeparture = max(1, failedProbesBeforeDeparture)
    }

    package subscript(nodeID: String) -> Peer? { peers[nodeID] }

    /// The node known to serve at `url`.
    package func nodeID(at url: String) -> String? {
        peers.first { $0.value.stats.httpURL == url }?.key
    }

    /// The addresses the periodic probe round times: every peer's endpoint and every
    /// pending address, sorted.
    package var probeTargets: [String] {
        Set(peers.values.compactMap(\.stats.httpURL).filter { !$0.isEmpty }).union(pending.keys).sorted()
    }

    /// Removes `nodeID`: it departed. A configured peer's addresses go back to `pending`, to
    /// be tried again (a restored one's configured address is its endpoint).
    mutating func remove(_ nodeID: String) -> [Action] {
        guard let peer = peers.removeValue(forKey: nodeID) else { return [] }
        revision &+= 1
        if peer.origin == .configured {
            let urls = peer.configuredURLs.isEmpty ? [peer.stats.httpURL].compactMap { $0 } : Array(peer.configuredURLs)
            for url in urls where !url.isEmpty {
                // Kept to try again, with the record of the probes that failed it.
                var held = Pending(origin: .configured)
                (held.reliability, held.probeFailure) = (peer.stats.reliability, peer.probeFailure)
                pending[url] = held
            }
        }
        if probeFailures.count > capacity * 2 {
            // Forget the failure counts of addresses nobody serves at any more.
            let known = Set(peers.values.compactMap(\.stats.httpURL)).union(pending.keys)
            probeFailures = probeFailures.filter { known.contains($0.key) }
        }
        return [.departed(nodeID: nodeID, url: peer.stats.httpURL)]
    }

    /// Grows `revision` for a change of a peer from `before` to `after`: always when more
    /// than its last-seen time changed, for that alone at most once per `lastSeenRefreshMs`.
    mutating func noteChange(from before: Peer, to after: Peer, now: Int64) {
        var seenOnly = before
        seenOnly.stats.lastSeenMs = after.stats.lastSeenMs
        if seenOnly != after {
            revision &+= 1
        } else if before.stats.lastSeenMs != after.stats.lastSeenMs, lastSeenRevisionMs.map({ now - $0 >= Self.lastSeenRefreshMs }) ?? true
        {
            revision &+= 1
            lastSeenRevisionMs = now
        }
    }

    /// Asks for a probe of the peer's endpoint when it has a relay route and the endpoint
    /// was never probed: which route a pull takes first depends on the answer.
    mutating func probeIfUnproven(_ nodeID: String) -> [Action] {
        guard var peer = peers[nodeID], !peer.relays.isEmpty, !peer.probeAsked, peer.stats.httpReachability == .unknown,
            let url = peer.stats.httpURL, !url.isEmpty
        else { return [] }
        peer.probeAsked = true
        peers[nodeID] = peer
        return [.probe(url)]
    }
}
