import Testing

@testable import AtmoTransfer

/// The "doubt the manifest" verdict against a source that names a made-up manifest: its own
/// bad pieces blame it, and only peers that did not name the manifest can doubt it.
struct SwarmScheduleDoubtTests {
    static let piece: Int64 = 1 << 20

    static func schedule(pieces: Int) -> SwarmSchedule {
        SwarmSchedule(totalSize: Int64(pieces) * piece, pieceSize: piece, verified: true)
    }

    @Test func badPiecesOfThePeerThatNamedTheManifestBlameItAndDoNotDoubtTheManifest() {
        var schedule = Self.schedule(pieces: 8)
        for peer in 0..<3 { schedule.addPeer(peer, have: nil, channelLimit: 1, now: 0) }
        schedule.vouchForManifest(0)
        #expect(schedule.nextRequest(for: 0, now: 0) == .fetch(piece: 0))
        #expect(schedule.nextRequest(for: 1, now: 0) == .fetch(piece: 1))
        #expect(schedule.pieceArrived(0, from: 0, valid: false, now: 1).isEmpty)
        // Two senders of bad pieces and no good one yet: before, the manifest was doubted
        // here and the liar that named it went unblamed.
        #expect(schedule.pieceArrived(1, from: 1, valid: false, now: 1).isEmpty)
        #expect(schedule.nextRequest(for: 0, now: 1) == .fetch(piece: 1))
        #expect(schedule.pieceArrived(1, from: 0, valid: false, now: 2) == [.drop(peer: 0, reason: .badPieces(2))])
        #expect(schedule.activePeers == [1, 2])
        // Two peers that did not name it disagree with it: now it is doubted.
        #expect(schedule.nextRequest(for: 2, now: 2) == .fetch(piece: 0))
        #expect(schedule.pieceArrived(0, from: 2, valid: false, now: 3) == [.doubtManifest(piece: 0)])
    }

    @Test func twoPeersThatNamedTheManifestCannotMakeItDoubtedWithBadCopiesOfOnePiece() {
        var schedule = Self.schedule(pieces: 2)
        for peer in 1...3 { schedule.addPeer(peer, have: nil, channelLimit: 1, now: 0) }
        schedule.vouchForManifest(1)
        schedule.vouchForManifest(2)
        #expect(schedule.nextRequest(for: 1, now: 0) == .fetch(piece: 0))
        #expect(schedule.pieceArrived(0, from: 1, valid: false, now: 1).isEmpty)
        #expect(schedule.nextRequest(for: 2, now: 1) == .fetch(piece: 0))
        #expect(schedule.pieceArrived(0, from: 2, valid: false, now: 1).isEmpty)
        // The honest third peer, which named nothing, completes the pull.
        #expect(schedule.nextRequest(for: 3, now: 1) == .fetch(piece: 0))
        #expect(schedule.pieceArrived(0, from: 3, valid: true, now: 2).isEmpty)
        #expect(schedule.nextRequest(for: 3, now: 2) == .fetch(piece: 1))
        #expect(schedule.pieceArrived(1, from: 3, valid: true, now: 3).isEmpty)
        #expect(schedule.isComplete)
    }

    @Test func aHeldPieceOfThePeerThatNamedTheManifestFoundBadOnDiskDoesNotCountTowardsDoubt() {
        var schedule = Self.schedule(pieces: 4)
        for peer in 0..<2 { schedule.addPeer(peer, have: nil, channelLimit: 1, now: 0) }
        schedule.vouchForManifest(0)
        #expect(schedule.nextRequest(for: 0, now: 0) == .fetch(piece: 0))
        #expect(schedule.pieceArrived(0, from: 0, valid: true, now: 1).isEmpty)
        #expect(schedule.heldPiecesFailedCheck([0], from: 0).isEmpty)
        #expect(schedule.nextRequest(for: 1, now: 1) == .fetch(piece: 0))
        // One peer that did not name the manifest disagrees on piece 0: it alone is blamed.
        #expect(schedule.pieceArrived(0, from: 1, valid: false, now: 2).isEmpty)
        #expect(schedule.activePeers == [0, 1])
    }
}

/// The one-source fallback's order after a doubted manifest.
struct SourceSelectionTryLastTests {
    @Test func suspectsGoAfterEveryOtherSourceTheCurrentOneIncluded() {
        let sources = ["a", "b", "c", "d"].map { PullSource(baseURL: "http://\($0)") }
        var selection = SourceSelection(modelID: "m", sources: sources, expectedSHA256: nil)
        guard case .ask(let first) = selection.next(), first == sources[0] else {
            Issue.record("the first source is not asked first")
            return
        }
        selection.tryLast([sources[0], sources[2]])
        #expect(selection.hasUntriedSources(besides: [sources[0], sources[2]]))
        var order: [PullSource] = []
        while case .ask(let next) = selection.next() { order.append(next) }
        #expect(order == [sources[1], sources[3], sources[0], sources[2]])
    }
}
