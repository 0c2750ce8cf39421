import Testing

@testable import AtmoTransfer

/// The rules that choose a swarm pull's next piece manifest and whom each verdict blames,
/// without I/O (`ManifestTrials`).
struct ManifestTrialsTests {
    static let honest = ManifestName(pieceSize: 65536, sha256: "aa")
    static let madeUp = ManifestName(pieceSize: 65536, sha256: "bb")
    static let other = ManifestName(pieceSize: 1 << 20, sha256: "cc")

    static func peer(_ id: Int, _ name: ManifestName?, partial: Bool = false) -> ManifestTrials.Peer {
        ManifestTrials.Peer(id: id, name: name, partial: partial)
    }

    @Test func twoSybilsGetTheHonestManifestDoubtedThenTheirsFailsTheWholeFileAndTheHonestOneIsTriedWithoutThem() {
        var trials = ManifestTrials(pinned: Self.honest, peers: [Self.peer(0, Self.honest), Self.peer(1, Self.madeUp), Self.peer(2, Self.madeUp)])
        #expect(trials.first() == .init(name: Self.honest, peers: [0, 1, 2], vouching: [0]))
        #expect(trials.ended(Self.honest, .doubted).isEmpty, "a doubt blames nobody yet")
        #expect(trials.next() == .init(name: Self.madeUp, peers: [1, 2], vouching: [1, 2]))
        #expect(trials.ended(Self.madeUp, .wrong) == [1, 2], "the whole-file hash proves their manifest wrong")
        #expect(trials.next() == .init(name: Self.honest, peers: [0], vouching: [0]))
        #expect(trials.pulled(Self.honest).isEmpty, "the liars are blamed once only")
        #expect(trials.blamed == [1, 2])
    }

    @Test func aDoubtedManifestIsTriedAgainOnlyOnce() {
        var trials = ManifestTrials(pinned: Self.honest, peers: [Self.peer(0, Self.honest), Self.peer(1, Self.madeUp)])
        _ = trials.first()
        _ = trials.ended(Self.honest, .doubted)
        #expect(trials.next()?.name == Self.madeUp)
        _ = trials.ended(Self.madeUp, .wrong)
        #expect(trials.next()?.name == Self.honest)
        #expect(trials.ended(Self.honest, .doubted).isEmpty)
        #expect(trials.next() == nil)
        #expect(trials.suspects == [0, 1])
    }

    @Test func withoutAWrongManifestADoubtedOneIsNotTriedAgain() {
        // The existing rule: the pinned manifest is doubted, the other one is doubted too: none is left.
        var trials = ManifestTrials(pinned: Self.honest, peers: [Self.peer(0, Self.honest), Self.peer(1, Self.madeUp), Self.peer(2, nil)])
        _ = trials.first()
        _ = trials.ended(Self.honest, .doubted)
        #expect(trials.next() == .init(name: Self.madeUp, peers: [1, 2], vouching: [1]))
        _ = trials.ended(Self.madeUp, .doubted)
        #expect(trials.next() == nil)
        #expect(trials.suspects == [0, 1])
    }

    @Test func aPulledManifestBlamesTheNamersOfTheDoubtedOne() {
        var trials = ManifestTrials(pinned: Self.madeUp, peers: [Self.peer(0, Self.madeUp), Self.peer(1, Self.honest), Self.peer(2, Self.honest)])
        _ = trials.first()
        _ = trials.ended(Self.madeUp, .doubted)
        #expect(trials.next() == .init(name: Self.honest, peers: [1, 2], vouching: [1, 2]))
        #expect(trials.pulled(Self.honest) == [0])
    }

    @Test func theMostNamedManifestComesFirstAndPartialHoldersJoinOnlyWithThePinnedPieceSize() {
        let peers = [
            Self.peer(0, Self.honest), Self.peer(1, Self.other), Self.peer(2, Self.madeUp), Self.peer(3, Self.madeUp),
            Self.peer(4, nil, partial: true), Self.peer(5, nil),
        ]
        var trials = ManifestTrials(pinned: Self.honest, peers: peers)
        _ = trials.first()
        _ = trials.ended(Self.honest, .doubted)
        #expect(trials.next() == .init(name: Self.madeUp, peers: [2, 3, 4, 5], vouching: [2, 3]))
        _ = trials.ended(Self.madeUp, .doubted)
        #expect(trials.next() == .init(name: Self.other, peers: [1, 5], vouching: [1]))
    }

    @Test func aWrongPinnedManifestWithNoOtherNamedLeavesNothingToTry() {
        var trials = ManifestTrials(pinned: Self.madeUp, peers: [Self.peer(0, Self.madeUp)])
        _ = trials.first()
        #expect(trials.ended(Self.madeUp, .wrong) == [0])
        #expect(trials.next() == nil)
    }
}
