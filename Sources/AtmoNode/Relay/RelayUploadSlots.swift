import Synchronization

/// The provider's `RelayUploadAdmission`, shared by its transfers. A request over a bound
/// waits a moment for a slot before it is refused: an honest consumer asks for its next
/// piece as soon as it acked the last chunk of one, and that request may be read before the
/// transfer it follows has seen the ack and ended.
final class RelayUploadSlots: Sendable {
    private let admission: Mutex<RelayUploadAdmission>
    /// The bounds.
    let limits: RelayUploadAdmission.Limits
    /// How long a request over a bound waits for a slot.
    let grace: Duration

    init(limits: RelayUploadAdmission.Limits = .init(), grace: Duration = .seconds(2)) {
        let admission = RelayUploadAdmission(limits: limits)
        self.limits = admission.limits
        self.admission = Mutex(admission)
        self.grace = grace
    }

    /// Takes a slot for `peer`, waiting up to `grace` for one; the refusal otherwise.
    func acquire(peer: String) async -> RelayUploadAdmission.Decision {
        let deadline = ContinuousClock.now + grace
        while true {
            let decision = admission.withLock { $0.admit(peer: peer) }
            guard decision != .admitted, ContinuousClock.now < deadline, !Task.isCancelled else { return decision }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Gives back a slot `acquire(peer:)` took.
    func release(peer: String) {
        admission.withLock { $0.release(peer: peer) }
    }

    /// Uploads running now, all peers.
    var total: Int { admission.withLock { $0.total } }
}

extension RelayUploadAdmission.Decision {
    /// The message of the `model_transfer_cancel` that refuses a request over a bound.
    /// The reason is `timeout` (a reason every peer knows: ask again shortly, or another node).
    func refusal(nodeID: String, limits: RelayUploadAdmission.Limits) -> String? {
        switch self {
        case .admitted: nil
        case .peerFull(let active):
            "node \(nodeID) already serves \(active) relayed transfers to your node (at most \(limits.perPeer)); ask again shortly"
        case .nodeFull(let active):
            "node \(nodeID) already serves \(active) relayed transfers (at most \(limits.total)); ask again shortly, or another node"
        }
    }
}
