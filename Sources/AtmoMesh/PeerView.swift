/// The peers a node gossips with: an ordered set (so choices depend only on the random
/// generator, never on hashing order) with O(1) insertion, removal and random sampling.
///
/// Each peer remembers how it became known: directly (discovery, static configuration,
/// the operator) or learned from the catalog of a given origin, in which case it leaves
/// the view when that catalog expires.
package struct PeerView<Peer: Hashable & Sendable>: Sendable {
    package enum Source: Sendable, Hashable {
        /// Discovered on the LAN, configured, or otherwise known first-hand.
        case direct
        /// Learned from the `transfer_endpoints` of the catalog of this origin.
        case learned(originNodeID: String)
    }

    private var members: [Peer] = []
    private var positions: [Peer: Int] = [:]
    private var sources: [Peer: Source] = [:]

    package init() {}

    package var count: Int { members.count }
    package var all: [Peer] { members }

    package func contains(_ peer: Peer) -> Bool { positions[peer] != nil }

    package func source(of peer: Peer) -> Source? { sources[peer] }

    /// Adds `peer`, or upgrades a learned peer to direct. Returns true when it is new.
    ///
    /// At `capacity`, a direct peer replaces a learned one; a learned peer replaces a
    /// random learned one with probability `replaceProbability` (the node passes
    /// capacity / origins known, as reservoir sampling does, so a full view stays a uniform
    /// sample of the mesh instead of freezing on the first peers learned).
    @discardableResult
    package mutating func insert(
        _ peer: Peer, source: Source, capacity: Int, replaceProbability: Double = 0, using random: inout SplitMix64
    ) -> Bool {
        if let existing = sources[peer] {
            if source == .direct, existing != .direct { sources[peer] = .direct }
            return false
        }
        if members.count >= capacity {
            let victim: Peer?
            if source == .direct {
                victim = members.last(where: { sources[$0] != .direct })
            } else if random.chance(replaceProbability) {
                let candidate = members[random.index(below: members.count)]
                victim = sources[candidate] == .direct ? nil : candidate
            } else {
                victim = nil
            }
            guard let victim else { return false }
            remove(victim)
        }
        positions[peer] = members.count
        members.append(peer)
        sources[peer] = source
        return true
    }

    /// Removes `peer`; returns whether it was there.
    @discardableResult
    package mutating func remove(_ peer: Peer) -> Bool {
        guard let index = positions.removeValue(forKey: peer) else { return false }
        sources[peer] = nil
        let last = members.removeLast()
        if index < members.count {
            members[index] = last
            positions[last] = index
        }
        return true
    }

    /// Up to `count` distinct peers chosen uniformly at random, none of them in `excluded`.
    package func sample(
        _ count: Int, excluding excluded: [Peer], using random: inout SplitMix64
    ) -> [Peer] {
        guard count > 0, !members.isEmpty else { return [] }
        let excludedPresent = excluded.reduce(into: 0) { total, peer in total += contains(peer) ? 1 : 0 }
        let eligible = members.count - excludedPresent
        guard eligible > 0 else { return [] }
        if eligible <= count * 2 {
            // Small view: shuffle the eligible peers and take the first ones.
            var candidates = members.filter { !excluded.contains($0) }
            let wanted = min(count, candidates.count)
            for index in 0..<wanted {
                let other = index + random.index(below: candidates.count - index)
                candidates.swapAt(index, other)
            }
            return Array(candidates.prefix(wanted))
        }
        // Large view: rejection sampling (at least half of the draws succeed).
        var chosen: [Peer] = []
        chosen.reserveCapacity(count)
        while chosen.count < count {
            let peer = members[random.index(below: members.count)]
            if !excluded.contains(peer), !chosen.contains(peer) { chosen.append(peer) }
        }
        return chosen
    }
}
