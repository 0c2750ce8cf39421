import AtmoProtocol

/// What the pulling engine tells the node's metrics (`GET /metrics`): bytes that arrived
/// from a source, and the verdicts of a swarm pull's pieces. The node implements it over
/// its Prometheus registry; this target links no metrics library. Calls come from the
/// pull's tasks, often, so an implementation must be cheap and never block.
public protocol TransferCounters: Sendable {
    /// `bytes` of a piece (or a run of pieces) arrived whole from `peer` (its node id, nil
    /// when the source did not name one) over `route`.
    func received(bytes: Int64, route: PullSource.Route, peer: String?)
    /// Pieces checked against the manifest on arrival: `verified` matched, `rejected` did not.
    func pieces(verified: Int, rejected: Int)
}

/// Counts nothing: the engine's default.
public struct NoTransferCounters: TransferCounters {
    public init() {}
    public func received(bytes: Int64, route: PullSource.Route, peer: String?) {}
    public func pieces(verified: Int, rejected: Int) {}
}

extension PullEngine {
    /// This engine, telling `counters` what its pulls receive.
    public func withCounters(_ counters: any TransferCounters) -> PullEngine {
        var engine = self
        engine.counters = counters
        return engine
    }
}

extension SwarmSession {
    /// Counts a run of pieces that arrived whole from `peer`: its bytes, and the pieces
    /// verified against the manifest or rejected.
    func count(_ outcomes: [PieceOutcome], bytes: Int64, from peer: SwarmPeer) {
        let counters = engine.counters
        counters.received(bytes: bytes, route: peer.source.route, peer: peer.source.nodeID)
        var verified = 0
        var rejected = 0
        for outcome in outcomes {
            switch outcome {
            case .written(_, let checked): if checked { verified += 1 }
            case .bad: rejected += 1
            case .lost, .unfetched, .streamed: break
            }
        }
        if verified > 0 || rejected > 0 { counters.pieces(verified: verified, rejected: rejected) }
    }
}
