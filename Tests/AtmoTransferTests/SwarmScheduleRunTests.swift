import Testing

@testable import AtmoTransfer

/// Runs of pieces in one request, and held pieces that fail a deferred check.
struct SwarmScheduleRunTests {
    typealias S = SwarmScheduleTests

    @Test func aRunExtendsOverMissingPiecesInFileOrderOnly() {
        var schedule = S.schedule(pieces: 10, held: [3])
        schedule.addPeer(1, have: nil, channelLimit: 4, now: 0)
        #expect(schedule.nextRequest(for: 1, now: 0) == .fetch(piece: 0))
        #expect(schedule.extendRun(after: 0, for: 1, now: 0) == 1)
        #expect(schedule.extendRun(after: 1, for: 1, now: 0) == 2)
        // A held piece ends the run; a piece asked already is never asked twice.
        #expect(schedule.extendRun(after: 2, for: 1, now: 0) == nil)
        #expect(schedule.states[0...2].allSatisfy { $0 == .inFlight })
        // The run counts once against the peer's queue (2 requests deep before it is
        // measured): a second request, then none.
        #expect(schedule.nextRequest(for: 1, now: 0) == .fetch(piece: 4))
        #expect(schedule.extendRun(after: 4, for: 1, now: 0) == 5)
        #expect(schedule.nextRequest(for: 1, now: 0) == .wait(until: nil))
        for piece in 0...2 { _ = schedule.pieceArrived(piece, from: 1, valid: true, now: 1) }
        #expect(schedule.nextRequest(for: 1, now: 1) == .fetch(piece: 6))
        #expect(schedule.extendRun(after: 9, for: 1, now: 0) == nil)
    }

    @Test func aPullThatBeganAloneAllowsMoreRequestsOnceOthersTakePart() {
        var configuration = SwarmSchedule.Configuration()
        configuration.maxRequestsPerPeer = 2
        configuration.initialRequestsPerPeer = 4
        var schedule = SwarmSchedule(totalSize: 10 * S.piece, pieceSize: S.piece, verified: true, configuration: configuration)
        schedule.addPeer(1, have: nil, channelLimit: 8, now: 0)
        #expect(S.drain(&schedule, 1) == [0, 1])
        schedule.allowRequests(perPeer: 4)
        #expect(S.drain(&schedule, 1) == [2, 3])
    }

    @Test func noRunOnceAPartialHolderTakesPart() {
        var schedule = S.schedule(pieces: 10)
        schedule.addPeer(1, have: nil, channelLimit: 4, now: 0)
        schedule.addPeer(2, have: S.have(10, [5, 6]), channelLimit: 4, now: 0)
        #expect(!schedule.isInFileOrder)
        guard case .fetch(let piece) = schedule.nextRequest(for: 1, now: 0) else {
            Issue.record("no piece for the complete peer")
            return
        }
        #expect(schedule.extendRun(after: piece, for: 1, now: 0) == nil)
    }

    @Test func anUncheckedPieceThatFailsGoesBackToMissingBlamedAndTheHashStartsOver() {
        var schedule = S.schedule(pieces: 4)
        schedule.addPeer(1, have: nil, channelLimit: 4, now: 0)
        for piece in 0..<4 {
            #expect(schedule.nextRequest(for: 1, now: 0) == .fetch(piece: piece))
            _ = schedule.pieceArrived(piece, from: 1, valid: true, now: 1)
        }
        schedule.pieceHashed(0)
        schedule.pieceHashed(1)
        #expect(schedule.heldPiecesFailedCheck([1], from: 1).isEmpty)
        schedule.restartHash()
        #expect(schedule.states == [.held, .missing, .held, .held])
        #expect(schedule.heldCount == 3)
        #expect(schedule.nextHashStep() == .hash(piece: 0))
        // The only holder is asked again for the piece it sent bad.
        #expect(schedule.nextRequest(for: 1, now: 2) == .fetch(piece: 1))
    }

    @Test func aSecondBadUncheckedPieceDropsThePeer() {
        var schedule = S.schedule(pieces: 4)
        schedule.addPeer(1, have: nil, channelLimit: 4, now: 0)
        for piece in 0..<4 {
            _ = schedule.nextRequest(for: 1, now: 0)
            _ = schedule.pieceArrived(piece, from: 1, valid: true, now: 1)
        }
        #expect(schedule.heldPiecesFailedCheck([0, 2], from: 1) == [.drop(peer: 1, reason: .badPieces(2))])
        #expect(schedule.isDropped(1))
        #expect(schedule.unavailablePieces == [0, 2])
        // A piece not held is left alone.
        #expect(schedule.heldPiecesFailedCheck([0], from: nil).isEmpty)
        #expect(schedule.heldCount == 2)
    }
}
