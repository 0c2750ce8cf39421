import Testing

@testable import AtmoTransfer

/// A lost link (a relay killed mid-piece) in the swarm scheduler: the pieces in flight go
/// back to the others at once, the peer is not blamed, and it waits out a back-off.
struct SwarmScheduleLinkLostTests {
    @Test func piecesOfALostLinkGoToTheOthersAndThePeerIsNotBlamed() {
        var schedule = SwarmScheduleTests.schedule(pieces: 50)
        schedule.addPeer(1, have: nil, channelLimit: 4, now: 0)
        schedule.addPeer(2, have: nil, channelLimit: 1, now: 0)
        var now = 0.0
        // Many times more losses, four pieces each, than the failures that drop a peer.
        for round in 1...5 {
            let inFlight = SwarmScheduleTests.drain(&schedule, 1, now: now)
            #expect(!inFlight.isEmpty, "round \(round)")
            for piece in inFlight {
                #expect(schedule.pieceFailed(piece, from: 1, .linkLost, now: now).isEmpty, "round \(round)")
            }
            // The peer waits out the back-off, not doubled by losses...
            #expect(schedule.nextRequest(for: 1, now: now) == .wait(until: now + 1.0), "round \(round)")
            // ...while the other peer may take the lost pieces at once.
            guard case .fetch(let piece) = schedule.nextRequest(for: 2, now: now) else {
                Issue.record("the other peer got nothing in round \(round)")
                return
            }
            #expect(inFlight.contains(piece) || round > 1, "round \(round): \(piece) of \(inFlight)")
            #expect(schedule.pieceArrived(piece, from: 2, valid: true, now: now).isEmpty)
            now += 1.0
        }
        #expect(schedule.activePeers.contains(1))
        // A failure after the losses counts as the first in a row.
        guard case .fetch(let piece) = schedule.nextRequest(for: 1, now: now) else {
            Issue.record("the peer got nothing after its back-off")
            return
        }
        #expect(schedule.pieceFailed(piece, from: 1, .retriable, now: now).isEmpty)
        #expect(schedule.nextRequest(for: 1, now: now) == .wait(until: now + 0.25))
    }
}
