import Testing

@testable import AtmoNode

/// The bounds on relayed uploads at once, per requesting node and in all (hostile dec07e F6).
struct RelayUploadAdmissionTests {
    @Test func aPeerGetsItsShareThenIsRefusedUntilOneEnds() {
        var admission = RelayUploadAdmission(limits: .init(perPeer: 3, total: 10))
        let answers = (0..<5).map { _ in admission.admit(peer: "a") }
        #expect(answers == [.admitted, .admitted, .admitted, .peerFull(active: 3), .peerFull(active: 3)])
        #expect(admission.uploads(of: "a") == 3 && admission.total == 3)
        // Another peer is not held back by a's flood.
        #expect(admission.admit(peer: "b") == .admitted)
        admission.release(peer: "a")
        #expect(admission.admit(peer: "a") == .admitted)
        #expect(admission.admit(peer: "a") == .peerFull(active: 3))
    }

    @Test func theNodeWideBoundHoldsAcrossPeers() {
        var admission = RelayUploadAdmission(limits: .init(perPeer: 2, total: 5))
        var answers: [RelayUploadAdmission.Decision] = []
        for peer in ["a", "a", "b", "b", "c", "c", "d"] { answers.append(admission.admit(peer: peer)) }
        #expect(answers == [.admitted, .admitted, .admitted, .admitted, .admitted, .nodeFull(active: 5), .nodeFull(active: 5)])
        // The per-peer bound answers first: a peer at its share hears so, not that the node is full.
        #expect(admission.admit(peer: "a") == .peerFull(active: 2))
        admission.release(peer: "b")
        #expect(admission.admit(peer: "d") == .admitted)
        #expect(admission.total == 5)
    }

    @Test func releasesThatTookNothingChangeNothingAndEndedPeersAreForgotten() {
        var admission = RelayUploadAdmission(limits: .init(perPeer: 2, total: 4))
        admission.release(peer: "ghost")
        #expect(admission.total == 0)
        for peer in ["a", "b", "c"] { #expect(admission.admit(peer: peer) == .admitted) }
        for peer in ["a", "b", "c", "a"] { admission.release(peer: peer) }
        #expect(admission.total == 0 && admission.trackedPeers == 0)
        // Bounds below one are read as one.
        var tiny = RelayUploadAdmission(limits: .init(perPeer: 0, total: -3))
        #expect(tiny.admit(peer: "a") == .admitted)
        #expect(tiny.admit(peer: "b") == .nodeFull(active: 1))
    }

    @Test func theRefusalNamesTheBoundAndAdmissionHasNone() {
        let limits = RelayUploadAdmission.Limits(perPeer: 8, total: 32)
        #expect(RelayUploadAdmission.Decision.admitted.refusal(nodeID: "n", limits: limits) == nil)
        let peer = RelayUploadAdmission.Decision.peerFull(active: 8).refusal(nodeID: "n", limits: limits)
        #expect(peer?.contains("at most 8") == true, "\(String(describing: peer))")
        let node = RelayUploadAdmission.Decision.nodeFull(active: 32).refusal(nodeID: "n", limits: limits)
        #expect(node?.contains("at most 32") == true, "\(String(describing: node))")
    }

    /// A request over the bound waits a moment for a slot (the transfer before it may be
    /// about to end), then is refused.
    @Test func aRequestOverTheBoundWaitsForASlotWithinTheGrace() async {
        let slots = RelayUploadSlots(limits: .init(perPeer: 1, total: 4), grace: .seconds(60))
        #expect(await slots.acquire(peer: "a") == .admitted)
        let waiting = Task { await slots.acquire(peer: "a") }
        slots.release(peer: "a")
        #expect(await waiting.value == .admitted)
        #expect(slots.total == 1)
        let quick = RelayUploadSlots(limits: .init(perPeer: 1, total: 4), grace: .zero)
        #expect(await quick.acquire(peer: "a") == .admitted)
        #expect(await quick.acquire(peer: "a") == .peerFull(active: 1))
    }
}
