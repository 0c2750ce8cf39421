import Testing

@testable import AtmoTransfer

/// The swarm scheduler without I/O: piece order, blame, failures, slow peers, endgame.
struct SwarmScheduleTests {
    static let piece: Int64 = 1 << 20

    static func schedule(pieces: Int, held: [Int] = [], salt: UInt64 = 0, verified: Bool = true) -> SwarmSchedule {
        var configuration = SwarmSchedule.Configuration()
        configuration.salt = salt
        var field = Bitfield(count: pieces)
        for index in held { field[index] = true }
        return SwarmSchedule(totalSize: Int64(pieces) * piece - 100, pieceSize: piece, held: field, verified: verified, configuration: configuration)
    }

    static func have(_ pieces: Int, _ indexes: [Int]) -> Bitfield {
        var field = Bitfield(count: pieces)
        for index in indexes { field[index] = true }
        return field
    }

    /// Asks until the peer gets no more pieces; returns those it got.
    static func drain(_ schedule: inout SwarmSchedule, _ peer: Int, now: Double = 0) -> [Int] {
        var got: [Int] = []
        while case .fetch(let piece) = schedule.nextRequest(for: peer, now: now) { got.append(piece) }
        return got
    }

    @Test func completePeersGetPiecesInFileOrderWithinTheirQueue() {
        var schedule = Self.schedule(pieces: 10, held: [0, 2])
        schedule.addPeer(1, have: nil, channelLimit: 8, now: 0)
        // The queue of an unmeasured peer is 2 deep; held pieces are never asked for.
        #expect(Self.drain(&schedule, 1) == [1, 3])
        #expect(schedule.nextRequest(for: 1, now: 0) == .wait(until: nil))
        #expect(schedule.pieceArrived(1, from: 1, valid: true, now: 1).isEmpty)
        #expect(Self.drain(&schedule, 1) == [4])
        #expect(schedule.nextHashStep() == .hash(piece: 0))
    }

    @Test func aFasterPeerGetsADeeperQueue() {
        var schedule = Self.schedule(pieces: 100)
        schedule.addPeer(1, have: nil, channelLimit: 8, now: 0)
        schedule.addPeer(2, have: nil, channelLimit: 8, now: 0)
        _ = Self.drain(&schedule, 1)
        _ = Self.drain(&schedule, 2)
        schedule.received(1, bytes: 40 * Self.piece)
        schedule.received(2, bytes: Self.piece)
        _ = schedule.tick(now: 1)
        #expect(Self.drain(&schedule, 1).count == 2)  // 4 deep now (the cap), 2 were out
        #expect(Self.drain(&schedule, 2).isEmpty)  // 1 MiB/s: one piece a second, 2 out already
    }

    @Test func theRarestPieceGoesFirstAndTiesDependOnTheSalt() {
        var first: [Int] = []
        for salt in [UInt64(1), 2, 3] {
            var schedule = Self.schedule(pieces: 64, salt: salt)
            schedule.addPeer(1, have: nil, channelLimit: 1, now: 0)
            schedule.addPeer(2, have: Self.have(64, Array(0..<32)), channelLimit: 1, now: 0)
            guard case .fetch(let fromSeed) = schedule.nextRequest(for: 1, now: 0) else {
                Issue.record("the seed got nothing")
                return
            }
            // Pieces 0-31 are held by two peers; the seed is asked for one only it holds.
            #expect(fromSeed >= 32)
            guard case .fetch(let fromPartial) = schedule.nextRequest(for: 2, now: 0) else {
                Issue.record("the partial holder got nothing")
                return
            }
            #expect(fromPartial < 32)
            first.append(fromSeed)
        }
        // Nodes starting together ask the seed for different pieces.
        #expect(Set(first).count > 1)
    }

    @Test func aBadPieceIsBlamedRefetchedElsewhereAndASecondDropsThePeer() {
        var schedule = Self.schedule(pieces: 8)
        schedule.addPeer(1, have: nil, channelLimit: 1, now: 0)
        schedule.addPeer(2, have: nil, channelLimit: 1, now: 0)
        #expect(schedule.nextRequest(for: 1, now: 0) == .fetch(piece: 0))
        #expect(schedule.pieceArrived(0, from: 1, valid: false, now: 1).isEmpty)
        #expect(schedule.states[0] == .missing)
        // The liar is not asked for that piece again; the other peer is.
        #expect(schedule.nextRequest(for: 1, now: 1) == .fetch(piece: 1))
        #expect(schedule.nextRequest(for: 2, now: 1) == .fetch(piece: 0))
        #expect(schedule.pieceArrived(1, from: 1, valid: false, now: 2) == [.drop(peer: 1, reason: .badPieces(2))])
        #expect(schedule.nextRequest(for: 1, now: 2) == .done)
        #expect(schedule.states[1] == .missing && schedule.activePeers == [2])
    }

    @Test func theEndgameAsksASecondPeerAndCancelsTheLoser() {
        var schedule = Self.schedule(pieces: 3)
        schedule.addPeer(1, have: nil, channelLimit: 4, now: 0)
        #expect(Self.drain(&schedule, 1, now: 0) == [0, 1])
        schedule.addPeer(2, have: nil, channelLimit: 4, now: 0.5)
        #expect(schedule.nextRequest(for: 2, now: 0.5) == .fetch(piece: 2))
        // Everything is asked for: peer 2 may fetch the piece asked longest ago too, once it is late.
        #expect(schedule.nextRequest(for: 2, now: 0.5) == .wait(until: 1))
        #expect(schedule.nextRequest(for: 2, now: 1) == .fetch(piece: 0))
        #expect(schedule.pieceArrived(0, from: 2, valid: true, now: 2) == [.cancel(piece: 0, peer: 1)])
        #expect(schedule.nextRequest(for: 2, now: 2) == .fetch(piece: 1))
        // No piece is ever fetched by three.
        schedule.addPeer(3, have: nil, channelLimit: 4, now: 2)
        #expect(schedule.nextRequest(for: 3, now: 2) == .fetch(piece: 2))
        #expect(schedule.nextRequest(for: 3, now: 2) == .wait(until: nil))
        // Measured peers: a piece is late at twice what its fetcher's rate predicts.
        #expect(schedule.lateness(of: 2, fetchers: [2]) == 1.0)
        // A late duplicate changes nothing.
        #expect(schedule.pieceArrived(1, from: 1, valid: true, now: 3) == [.cancel(piece: 1, peer: 2)])
        #expect(schedule.pieceArrived(1, from: 2, valid: true, now: 3).isEmpty)
        #expect(schedule.heldCount == 2)
    }

    @Test func failuresBackOffAndDropAPeerSoonerWhileOthersAreLeft() {
        var schedule = Self.schedule(pieces: 50)
        schedule.addPeer(1, have: nil, channelLimit: 1, now: 0)
        schedule.addPeer(2, have: nil, channelLimit: 1, now: 0)
        var now = 0.0
        for attempt in 1...3 {
            guard case .fetch(let piece) = schedule.nextRequest(for: 1, now: now) else {
                Issue.record("no piece at attempt \(attempt)")
                return
            }
            let actions = schedule.pieceFailed(piece, from: 1, .retriable, now: now)
            if attempt < 3 {
                #expect(actions.isEmpty)
                guard case .wait(let until?) = schedule.nextRequest(for: 1, now: now) else {
                    Issue.record("no back-off")
                    return
                }
                #expect(until == now + 0.25 * Double(1 << (attempt - 1)))
                now = until
            } else {
                #expect(actions == [.drop(peer: 1, reason: .failures(3))])
            }
        }
        // The last peer gets eight tries.
        for attempt in 1...8 {
            guard case .fetch(let piece) = schedule.nextRequest(for: 2, now: now) else {
                Issue.record("no piece at attempt \(attempt)")
                return
            }
            let actions = schedule.pieceFailed(piece, from: 2, .retriable, now: now)
            #expect(actions.isEmpty == (attempt < 8))
            now += 100
        }
        #expect(schedule.activePeers.isEmpty && schedule.unavailablePieces.count == 50)
    }

    @Test func notHeldUpdatesThePeersPiecesAndUnusableDropsIt() {
        var schedule = Self.schedule(pieces: 4)
        schedule.addPeer(1, have: Self.have(4, [0, 1]), channelLimit: 1, now: 0)
        schedule.addPeer(2, have: nil, channelLimit: 1, now: 0)
        guard case .fetch(let first) = schedule.nextRequest(for: 1, now: 0) else {
            Issue.record("the partial holder got nothing")
            return
        }
        #expect(first < 2)
        #expect(schedule.pieceFailed(first, from: 1, .notHeld, now: 0).isEmpty)
        #expect(schedule.availability(first) == 1)
        #expect(schedule.nextRequest(for: 1, now: 0) == .fetch(piece: 1 - first))
        #expect(schedule.pieceFailed(1 - first, from: 1, .unusable, now: 0) == [.drop(peer: 1, reason: .unusable)])
        #expect(schedule.availability(1 - first) == 1)
        // A have update arriving for a dropped peer changes nothing.
        schedule.updateHave(1, have: Self.have(4, [0, 1, 2, 3]))
        #expect(schedule.availability(2) == 1)
    }

    @Test func aPartialHolderThatGetsEveryPieceCountsAsComplete() {
        var schedule = Self.schedule(pieces: 4)
        schedule.addPeer(1, have: Self.have(4, [0]), channelLimit: 1, now: 0)
        schedule.updateHave(1, have: Self.have(4, [1, 2, 3]))
        #expect((0..<4).allSatisfy { schedule.availability($0) == 1 })
        // Complete peers only: file order again.
        #expect(schedule.nextRequest(for: 1, now: 0) == .fetch(piece: 0))
    }

    @Test func aFarSlowerPeerIsDroppedOnlyWhenOthersCoverItsPieces() {
        var schedule = Self.schedule(pieces: 200)
        schedule.addPeer(1, have: nil, channelLimit: 4, now: 0)
        schedule.addPeer(2, have: nil, channelLimit: 4, now: 0)
        schedule.addPeer(3, have: Self.have(200, [199]), channelLimit: 4, now: 0)
        for peer in [1, 2, 3] { _ = Self.drain(&schedule, peer) }
        var dropped: [SwarmSchedule.Action] = []
        for second in 1...7 {
            schedule.received(1, bytes: 100 * Self.piece)
            schedule.received(2, bytes: Self.piece / 2)
            schedule.received(3, bytes: Self.piece / 100)
            dropped += schedule.tick(now: Double(second))
        }
        // Both slow peers go in the same tick: peer 1 holds everything they hold.
        #expect(dropped.count == 2)
        for (action, peer) in zip(dropped, [2, 3]) {
            guard case .drop(peer, .slow(let rate, let best)) = action else {
                Issue.record("expected peer \(peer) dropped as slow, got \(action)")
                continue
            }
            #expect(rate < best * 0.1)
        }
        #expect(schedule.activePeers == [1])
    }

    @Test func aSlowPeerHoldingTheOnlyCopyOfAPieceIsKept() {
        var schedule = Self.schedule(pieces: 10)
        schedule.addPeer(1, have: Self.have(10, Array(0..<9)), channelLimit: 4, now: 0)
        schedule.addPeer(2, have: nil, channelLimit: 4, now: 0)
        for peer in [1, 2] { _ = Self.drain(&schedule, peer) }
        var dropped: [SwarmSchedule.Action] = []
        for second in 1...7 {
            schedule.received(1, bytes: 100 * Self.piece)
            schedule.received(2, bytes: Self.piece / 100)
            dropped += schedule.tick(now: Double(second))
        }
        #expect(dropped.isEmpty)
    }

    @Test func unverifiedPullsStillScheduleAndHashInOrder() {
        var schedule = Self.schedule(pieces: 3, verified: false)
        schedule.addPeer(7, have: nil, channelLimit: 4, now: 0)
        for piece in Self.drain(&schedule, 7).reversed() { _ = schedule.pieceArrived(piece, from: 7, valid: true, now: 1) }
        #expect(Self.drain(&schedule, 7) == [2])
        #expect(schedule.nextHashStep() == .hash(piece: 0))
        schedule.pieceHashed(0)
        schedule.pieceHashed(1)
        #expect(schedule.nextHashStep() == .wait)
        _ = schedule.pieceArrived(2, from: 7, valid: true, now: 2)
        schedule.pieceHashed(2)
        #expect(schedule.nextHashStep() == .complete && schedule.isComplete)
        #expect(schedule.nextRequest(for: 7, now: 3) == .done)
        #expect(schedule.heldBytes == schedule.totalSize)
    }

    @Test func theOnlyHolderOfABadPieceIsAskedAgainAndDroppedAtTheSecond() {
        var schedule = Self.schedule(pieces: 4)
        schedule.addPeer(1, have: nil, channelLimit: 1, now: 0)
        #expect(schedule.nextRequest(for: 1, now: 0) == .fetch(piece: 0))
        #expect(schedule.pieceArrived(0, from: 1, valid: false, now: 1).isEmpty)
        // Nobody else holds piece 0: a byte flipped in transit costs one piece, not the pull.
        #expect(schedule.nextRequest(for: 1, now: 1) == .fetch(piece: 0))
        #expect(schedule.pieceArrived(0, from: 1, valid: false, now: 2) == [.drop(peer: 1, reason: .badPieces(2))])
        #expect(schedule.unavailablePieces == [0, 1, 2, 3])
    }

    @Test func aPeerWithAnotherRouteIsDroppedAfterThreeFailuresEvenWhenAlone() {
        var schedule = Self.schedule(pieces: 4)
        schedule.addPeer(1, have: nil, channelLimit: 1, hasFallback: true, now: 0)
        var actions: [SwarmSchedule.Action] = []
        for attempt in 0..<3 {
            let now = Double(attempt) * 100
            guard case .fetch(let piece) = schedule.nextRequest(for: 1, now: now) else { return }
            actions += schedule.pieceFailed(piece, from: 1, .retriable, now: now)
        }
        #expect(actions == [.drop(peer: 1, reason: .failures(3))])
    }

    @Test func badCopiesOfOnePieceFromTwoPeersDoubtTheManifestAndBlameNobody() {
        var schedule = Self.schedule(pieces: 4)
        schedule.addPeer(1, have: nil, channelLimit: 1, now: 0)
        schedule.addPeer(2, have: nil, channelLimit: 1, now: 0)
        #expect(schedule.nextRequest(for: 1, now: 0) == .fetch(piece: 0))
        #expect(schedule.pieceArrived(0, from: 1, valid: false, now: 1).isEmpty)
        #expect(schedule.nextRequest(for: 2, now: 1) == .fetch(piece: 0))
        #expect(schedule.pieceArrived(0, from: 2, valid: false, now: 2) == [.doubtManifest(piece: 0)])
        #expect(schedule.activePeers == [1, 2])
    }
}
