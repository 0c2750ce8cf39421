import AtmoTransfer

extension SwarmNetworkSimulator {
    /// Moves one step of bytes over every transfer that has started, and reports the
    /// pieces that arrived to their receiver's schedule. (The arrays are moved into locals
    /// for the pass: a class's stored arrays cost an exclusivity check per access.)
    func flow() {
        var inbound = self.inbound
        self.inbound = []
        var uploads = self.uploads
        var downloads = self.downloads
        var sent = self.sent
        var received = self.receivedBySlot
        self.receivedBySlot = []
        defer {
            self.inbound = inbound
            self.uploads = uploads
            self.downloads = downloads
            self.sent = sent
            self.receivedBySlot = received
        }
        let now = self.now
        for node in 0..<nodeCount {
            uploads[node] = 0
            downloads[node] = 0
        }
        for node in seeds..<nodeCount {
            for transfer in inbound[node] where transfer.startAt <= now {
                uploads[Int(transfer.from)] += 1
                downloads[node] += 1
            }
        }
        let step = scenario.step
        arrivals.removeAll(keepingCapacity: true)
        for node in seeds..<nodeCount where !inbound[node].isEmpty {
            let downShare = downloads[node] > 0 ? downloadCapacity[node] / Double(downloads[node]) : 0
            var transfers = inbound[node]
            inbound[node] = []
            var index = 0
            while index < transfers.count {
                var transfer = transfers[index]
                guard transfer.startAt <= now else {
                    index += 1
                    continue
                }
                let from = Int(transfer.from)
                let rate = min(uploadCapacity[from] / Double(uploads[from]), downShare)
                let moved = min(transfer.remaining, rate * step)
                transfer.remaining -= moved
                transfer.moved += moved
                sent[from] += moved
                received[node][Int(transfer.slot)] += moved
                if transfer.remaining <= 0.5 {
                    arrivals.append((node, transfer))
                    transfers.swapAt(index, transfers.count - 1)
                    transfers.removeLast()
                } else {
                    transfers[index] = transfer
                    index += 1
                }
            }
            inbound[node] = transfers
        }
    }

    /// Reports the pieces of the last `flow()` that arrived.
    func deliverArrivals() {
        let time = now
        for (node, transfer) in arrivals { pieceArrived(transfer, at: node, time: time) }
        arrivals.removeAll(keepingCapacity: true)
    }

    /// A whole piece reached `node`: the schedule holds it and may cancel other copies.
    func pieceArrived(_ transfer: Transfer, at node: Int, time: Double) {
        let consumer = node - seeds
        let heldBefore = schedules[consumer].heldCount
        let actions = schedules[consumer].pieceArrived(Int(transfer.piece), from: scheduleID(of: transfer), valid: true, now: time)
        if schedules[consumer].heldCount > heldBefore {
            heldLog[node].append((time, transfer.piece))
            if schedules[consumer].isComplete { heldAt[node] = time }
        }
        apply(actions, at: node)
        markPending(node, slot: Int(transfer.slot))
        // In the endgame any peer may take a copy of a piece in flight: ask them all.
        if schedules[consumer].unrequested == 0 { askAll[node] = true }
    }

    /// Ends the transfers a schedule cancelled or whose peer it dropped.
    func apply(_ actions: [SwarmSchedule.Action], at node: Int) {
        for action in actions {
            switch action {
            case .cancel(let piece, let peer):
                removeTransfers(to: node) { self.scheduleID(of: $0) == peer && Int($0.piece) == piece }
            case .drop(let peer, _):
                drops += 1
                removeTransfers(to: node) { self.scheduleID(of: $0) == peer }
                askAll[node] = true
            case .doubtManifest:
                // Every simulated copy is good: two bad copies of one piece cannot happen.
                break
            }
        }
    }

    func removeTransfers(to node: Int, where matches: (Transfer) -> Bool) {
        inbound[node].removeAll { transfer in
            guard matches(transfer) else { return false }
            wastedBytes += transfer.moved
            return true
        }
    }

    /// Asks each schedule for work for the peers that may have some: every peer at its
    /// start, after a drop or a back-off, in the endgame; else only those whose fetch ended
    /// or whose pieces were seen since the last pass.
    func askForWork() {
        for node in seeds..<nodeCount where now >= startTime[node] {
            let consumer = node - seeds
            if schedules[consumer].isComplete {
                pending[node].removeAll()
                continue
            }
            let all = askAll[node] || now >= wake[node]
            guard all || !pending[node].isEmpty else { continue }
            if all {
                askAll[node] = false
                wake[node] = .infinity
                for slot in 0..<neighbors[node].count * routes { ask(node, slot: slot) }
            } else {
                for slot in pending[node] { ask(node, slot: Int(slot)) }
            }
            for slot in pending[node] { pendingFlag[node][Int(slot)] = false }
            pending[node].removeAll(keepingCapacity: true)
        }
    }

    func ask(_ node: Int, slot: Int) {
        let consumer = node - seeds
        let (peer, id) = peer(of: node, slot: slot)
        while true {
            switch schedules[consumer].nextRequest(for: id, now: now) {
            case .fetch(let piece):
                let length = Double(schedules[consumer].range(of: piece).length)
                inbound[node].append(
                    Transfer(from: Int32(peer), slot: Int32(slot), piece: Int32(piece), remaining: length, startAt: now + scenario.latency))
            case .wait(let until):
                if let until { wake[node] = min(wake[node], until) }
                return
            case .done:
                return
            }
        }
    }
}
