import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation

/// Answers piece queries from peers that reach this node through a relay or its own
/// WebSocket endpoint (docs/PROTOCOL.md §8, "Piece queries"), as the HTTP routes answer
/// `GET /v1/pieces/{sha256}` and `/have`: for a file offered whole, every piece and the
/// manifest stored with its hash; for a file being pulled (`PartialOffers`), the pieces
/// verified so far and the manifest the pull checks them against.
extension RelayTransferProvider {
    /// Answers queries one at a time until the hub finishes (each answer is a lookup and at
    /// most a manifest's worth of frames, so a flood of queries queues instead of fanning out;
    /// the manifest parts each peer is sent are bounded by a `PieceQueryBudget`).
    func answerQueries() async {
        var budget = PieceQueryBudget()
        for await (query, peer, link) in hub.queries {
            await answer(query, to: peer, via: link) { parts in
                budget.take(parts, peer: peer, now: Double(MeshState.now()) / 1000)
            }
        }
    }

    /// Answers `query` from `peer` over the link it came through; `mayShip(parts)` says
    /// whether the peer may be sent a manifest of that many parts now.
    func answer(_ query: PieceQuery, to peer: String, via link: String, mayShip: (Int) -> Bool = { _ in true }) async {
        guard let route = hub.route(to: peer, via: link) else { return }
        var messages = await answers(to: query)
        if messages.count > 0, case .manifestPart = messages[0], !mayShip(messages.count) {
            let message = "node \(nodeID) sent you too many piece manifests lately; ask again shortly"
            messages = [.unavailable(PieceUnavailable(requestID: query.requestID, sha256: query.sha256, message: message))]
        }
        for message in messages {
            guard route.send(message.outbound(to: peer)) else {
                logger.debug("piece query answer dropped: the link is overloaded", metadata: ["peer": "\(peer)"])
                return
            }
        }
    }

    /// The messages that answer `query`, in order.
    func answers(to query: PieceQuery) async -> [PieceAnswer] {
        let sha256 = query.sha256
        switch query.kind {
        case .have:
            if let availability = partialOffers.availability(sha256: sha256, installedIn: inventory) {
                return [.have(PieceHave(requestID: query.requestID, availability: availability))]
            }
            return [.unavailable(PieceUnavailable(requestID: query.requestID, sha256: sha256, message: "node \(nodeID) holds no piece of \(sha256)"))]
        case .manifest:
            let stored = try? await inventory.manifest(sha256: sha256, using: BlockingIO(threadPool: fileReaders))
            guard let manifest = stored ?? partialOffers.offer(sha256: sha256)?.manifest else {
                let message = "node \(nodeID) has no piece manifest for \(sha256)"
                return [.unavailable(PieceUnavailable(requestID: query.requestID, sha256: sha256, message: message))]
            }
            return PieceManifestPart.parts(of: manifest, sha256: sha256, requestID: query.requestID).map(PieceAnswer.manifestPart)
        }
    }

    /// One answer message.
    enum PieceAnswer {
        case have(PieceHave)
        case manifestPart(PieceManifestPart)
        case unavailable(PieceUnavailable)

        func outbound(to peer: String) -> RelayOutbound {
            switch self {
            case .have(let message): RelayPayload.direct(message, to: peer)
            case .manifestPart(let message): RelayPayload.direct(message, to: peer)
            case .unavailable(let message): RelayPayload.direct(message, to: peer)
            }
        }
    }
}
