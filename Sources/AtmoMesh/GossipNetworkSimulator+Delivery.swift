import AtmoProtocol

extension GossipNetworkSimulator {
    /// Starts every mesh node. With `gossip` false the start-up messages are dropped and
    /// each join pull is answered empty, as if the nodes had started long ago and never
    /// learned more peers than their initial view (cheap for large meshes); with true they
    /// are sent, and each node's view grows to the whole mesh as catalogs arrive.
    package mutating func startMesh(gossip: Bool) {
        for index in 0..<configuration.nodeCount where !running[index] {
            running[index] = true
            let actions = nodes[index].start(now: now)
            if gossip {
                send(actions, from: index)
            } else {
                for case .pull(let peer) in actions { _ = nodes[index].receivePull([], from: peer, now: now) }
            }
        }
    }

    /// Performs the actions of node `index`: pushes and pulls go on the wire (counted),
    /// the rest concerns only the node itself.
    mutating func send(_ actions: [GossipAction<Int>], from index: Int) {
        for action in actions {
            switch action {
            case .push(let catalog, let peer):
                traffic.messages += 1
                traffic.bytes += encodedSize(of: catalog)
                if !alive[peer] || !running[peer] {
                    inFlight.append(Envelope(from: peer, to: index, payload: .pushFailed(catalog)))
                } else if !(!lossless && random.chance(configuration.loss)) {
                    inFlight.append(Envelope(from: index, to: peer, payload: .push(catalog)))
                }
            case .pull(let peer):
                traffic.messages += 1
                if !alive[peer] || !running[peer] || (!lossless && random.chance(configuration.loss)) {
                    inFlight.append(Envelope(from: peer, to: index, payload: .pullFailed))
                } else {
                    inFlight.append(Envelope(from: index, to: peer, payload: .pullRequest))
                }
            case .learned, .forgot:
                break
            }
        }
    }

    mutating func deliver(_ envelope: Envelope) {
        let node = envelope.to
        guard alive[node] else { return }
        switch envelope.payload {
        case .push(let catalog):
            let actions = nodes[node].receive(catalog, from: envelope.from, now: now)
            if trackRelays { recordRelays(actions, by: node) }
            send(actions, from: node)
        case .pullRequest:
            let catalogs = nodes[node].catalogsForPull(now: now)
            let bytes = HTTPAPI.CatalogBundle.encodedSize(catalogSizes: catalogs.map { encodedSize(of: $0) })
            traffic.messages += 1
            traffic.bytes += bytes
            lastPullAnswer = (catalogs.count, bytes)
            if (!lossless && random.chance(configuration.loss)) {
                inFlight.append(Envelope(from: node, to: envelope.from, payload: .pullFailed))
            } else {
                inFlight.append(Envelope(from: node, to: envelope.from, payload: .pullResponse(catalogs)))
            }
        case .pullResponse(let catalogs):
            send(nodes[node].receivePull(catalogs, from: envelope.from, now: now), from: node)
        case .pushFailed(let catalog):
            send(nodes[node].pushFailed(catalog, to: envelope.from, now: now), from: node)
        case .pullFailed:
            send(nodes[node].pullFailed(from: envelope.from, now: now), from: node)
        }
    }

    /// Counts a relay decision twice for one (node, origin, timestamp) as a violation.
    mutating func recordRelays(_ actions: [GossipAction<Int>], by node: Int) {
        var keys = Set<RelayKey>()
        for case .push(let catalog, _) in actions where catalog.nodeID != nodeIDs[node] {
            keys.insert(RelayKey(node: node, origin: catalog.nodeID, timestamp: catalog.timestamp))
        }
        for key in keys where !relayed.insert(key).inserted { duplicateRelays += 1 }
    }

    /// The exact size of `catalog`'s compact JSON. The encoding of each (origin, timestamp)
    /// is measured once, without `gossip_hops` and with `ttl_seconds` 300; copies differ
    /// only in those two numbers, whose lengths are added.
    package mutating func encodedSize(of catalog: ModelCatalog) -> Int {
        let key = SizeKey(origin: catalog.nodeID, timestamp: catalog.timestamp)
        let base: Int
        if let cached = sizeCache[key] {
            base = cached
        } else {
            var plain = catalog.withGossipHops(nil)
            plain.ttlSeconds = 300
            base = (try? WireCoding.encode(plain).count) ?? 0
            sizeCache[key] = base
        }
        var size = base + String(catalog.ttlSeconds).utf8.count - 3
        if let hops = catalog.gossipHops {
            size += ",\"\(ModelCatalog.gossipHopsField)\":".utf8.count + String(hops).utf8.count
        }
        return size
    }
}
