import Testing

@testable import AtmoTransfer

/// When a pull is stuck: only once every missing piece is one no active peer holds. A
/// whole-file source found to lack one piece (`not_held`) still gives the others first, so
/// the resume needs that piece alone (it gave up at once before, at a moment with nothing in
/// flight, and a loaded run left 25 pieces unfetched).
struct SwarmStuckPiecesTests {
    typealias S = SwarmScheduleTests

    @Test func aPieceNobodyHoldsWaitsUntilTheOthersAreFetched() {
        var have = Bitfield(count: 8)
        for index in 1..<8 { have[index] = true }
        var schedule = S.schedule(pieces: 8, held: [4, 5, 6, 7])
        schedule.addPeer(1, have: have, channelLimit: 4, now: 0)
        let coordinator = SwarmCoordinator(schedule: schedule, keepAhead: 0)
        // Pieces 1-3 are missing and peer 1 has them: nothing in flight, yet not stuck.
        #expect(coordinator.stuckPieces == nil)
        coordinator.markHeld([1, 2, 3])
        #expect(coordinator.stuckPieces == [0])
    }
}
