import AtmoTransfer

extension SwarmNetworkSimulator {
    /// The in-order whole-file hash of every consumer, `hashRate` bytes per second over the
    /// pieces held from its cursor on (time it waits for a piece is not saved up).
    func hashInOrder() {
        let budget = scenario.hashRate * scenario.step
        for node in seeds..<nodeCount where verifiedAt[node] == nil {
            let consumer = node - seeds
            hashCarry[node] += budget
            hashing: while true {
                switch schedules[consumer].nextHashStep() {
                case .hash(let piece):
                    let length = Double(schedules[consumer].range(of: piece).length)
                    guard scenario.hashRate <= 0 || hashCarry[node] >= length else { break hashing }
                    hashCarry[node] -= length
                    schedules[consumer].pieceHashed(piece)
                case .wait:
                    hashCarry[node] = 0
                    break hashing
                case .complete:
                    verifiedAt[node] = now
                    verifiedCount += 1
                    break hashing
                }
            }
        }
    }

    /// Every consumer looks at what its partial neighbors hold (their `/have` answers): a
    /// piece shows `haveDelay` after it arrived, and only to a node that has known its
    /// peers as sources for `discoveryDelay`. Only answers that changed are passed on.
    func lookAtPeers() {
        let visibleUntil = now - scenario.haveDelay
        for node in seeds..<nodeCount {
            let log = heldLog[node]
            var cursor = publishedCursor[node]
            guard cursor < log.count, log[cursor].time <= visibleUntil else { continue }
            while cursor < log.count && log[cursor].time <= visibleUntil {
                published[node][Int(log[cursor].piece)] = true
                cursor += 1
            }
            publishedCursor[node] = cursor
            publishedVersion[node] += 1
        }
        for node in seeds..<nodeCount where now >= startTime[node] + scenario.discoveryDelay {
            let consumer = node - seeds
            guard !schedules[consumer].isComplete else { continue }
            for slot in 0..<neighbors[node].count * routes {
                let (peer, id) = peer(of: node, slot: slot)
                guard !isSeed(peer), seenVersion[node][slot] != publishedVersion[peer] else { continue }
                seenVersion[node][slot] = publishedVersion[peer]
                schedules[consumer].updateHave(id, have: published[peer])
                markPending(node, slot: slot)
            }
        }
    }

    /// The schedules' once-a-second tick: the bytes each peer sent since the last one, rates,
    /// drops of far slower peers. Every peer is asked for work again after it.
    func tickSchedules() {
        for node in seeds..<nodeCount where now >= startTime[node] {
            let consumer = node - seeds
            guard !schedules[consumer].isComplete else { continue }
            for slot in 0..<neighbors[node].count * routes where receivedBySlot[node][slot] > 0 {
                schedules[consumer].received(peer(of: node, slot: slot).id, bytes: Int64(receivedBySlot[node][slot]))
                receivedBySlot[node][slot] = 0
            }
            apply(schedules[consumer].tick(now: now), at: node)
            askAll[node] = true
        }
    }

    func result() -> SwarmRunResult {
        var times: [Double] = []
        var heldTimes: [Double] = []
        for node in seeds..<nodeCount {
            if let verified = verifiedAt[node] { times.append(verified - startTime[node]) }
            if let held = heldAt[node] { heldTimes.append(held - startTime[node]) }
        }
        return SwarmRunResult(
            scenario: scenario, pieceSize: pieceSize, pieceCount: pieceCount, completionSeconds: times.sorted(),
            heldSeconds: heldTimes.sorted(), unfinished: scenario.consumers - times.count,
            seedBytes: (0..<seeds).reduce(0) { $0 + sent[$1] }, totalBytes: sent.reduce(0, +), wastedBytes: wastedBytes,
            drops: drops, simulatedSeconds: now)
    }
}
