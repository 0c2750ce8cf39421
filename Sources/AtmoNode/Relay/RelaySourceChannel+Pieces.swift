import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation

/// Piece queries over the channel's route (docs/PROTOCOL.md §8, "Piece queries"): which
/// pieces the node holds and its piece manifest, as `GET /v1/pieces/...` tells them over
/// HTTP, so a node reached only through a relay or its own WebSocket joins a swarm as a
/// partial holder and serves manifests. Only a node that announced `piece_queries` is asked
/// through a relay (an older one would ignore the query); every answer is bounded, checked
/// and waited for at most `queryTimeout` (plus a second per MiB of manifest).
extension RelaySourceChannel {
    /// How often a query looks whether its direct socket is still open.
    static let queryTickInterval = Duration.milliseconds(100)

    /// What a query makes of one answer.
    enum QueryStep<Answer> {
        /// Wait for the next message (a manifest part that is not the last).
        case more
        case done(Answer)
    }

    func availability(sha256: String) async throws(TransferError) -> PieceAvailability? {
        let sha256 = sha256.lowercased()
        let answer = try await query(.have, sha256: sha256, timeout: queryTimeout) { message throws(TransferError) in
            switch message {
            case .have(let have):
                guard have.availability.sha256 == sha256 else {
                    throw TransferError(
                        .protocolViolation, "\(address) answered the pieces of \(sha256) with those of \(have.availability.sha256)")
                }
                return QueryStep<PieceAvailability?>.done(have.availability)
            case .unavailable:
                return .done(nil)
            case .query, .manifestPart:
                return .more
            }
        }
        return answer ?? nil
    }

    func manifest(for entry: ModelEntry) async throws(TransferError) -> PieceManifest? {
        let expected: (pieceCount: Int, bytes: Int)?
        do { expected = try PieceManifest.expectedSize(for: entry) } catch { throw TransferError(.protocolViolation, error.message) }
        guard let reference = entry.manifestReference, let (pieceCount, expectedBytes) = expected else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(expectedBytes)
        let timeout = queryTimeout + .seconds(expectedBytes >> 20)
        let answer = try await query(.manifest, sha256: entry.sha256.lowercased(), timeout: timeout) { message throws(TransferError) in
            switch message {
            case .manifestPart(let part):
                // Parts come in order, each the next digests of the manifest the entry names.
                guard part.sha256 == entry.sha256.lowercased(), part.pieceSize == reference.pieceSize, part.pieceCount == pieceCount,
                    part.firstPiece * PieceManifest.digestSize == bytes.count
                else {
                    throw TransferError(
                        .protocolViolation,
                        "\(address) sent a piece manifest part (pieces from \(part.firstPiece) of \(part.pieceCount), \(part.pieceSize) bytes each) "
                            + "that does not follow \(bytes.count / PieceManifest.digestSize) of \(pieceCount) pieces of \(reference.pieceSize) bytes")
                }
                bytes += part.digests
                guard bytes.count >= expectedBytes else { return QueryStep<PieceManifest?>.more }
                do throws(WireError) {
                    return .done(try PieceManifest.decode(bytes, for: entry))
                } catch {
                    throw TransferError(
                        .protocolViolation, "\(address) sent a piece manifest that does not match its catalog entry: \(error.message)")
                }
            case .unavailable:
                return .done(nil)
            case .query, .have:
                return .more
            }
        }
        return answer ?? nil
    }

    /// Sends a `piece_query` of `kind` and hands each answer to `take` until it is done.
    /// Nil when the node does not take piece queries (not announced on the relay). Throws
    /// `.timeout` past `timeout`, `.peerUnreachable` when there is no route or it is lost.
    private func query<Answer>(
        _ kind: PieceQuery.Kind, sha256: String, timeout: Duration,
        _ take: (PieceQueryMessage) throws(TransferError) -> QueryStep<Answer>
    ) async throws(TransferError) -> Answer? {
        if let direct { try await direct.open() }
        guard let route = hub.route(to: nodeID, via: direct?.linkID) else {
            throw TransferError(.peerUnreachable, "node \(nodeID) is on no relay this node is connected to (see `atmo peers`)")
        }
        guard route.answersPieceQueries else { return nil }
        let query = PieceQuery(requestID: UUID().uuidString.lowercased(), requesterNodeID: localNodeID, sha256: sha256, kind: kind)
        let inbox = hub.open(requestID: query.requestID, peer: nodeID)
        defer { hub.close(requestID: query.requestID) }
        guard route.send(RelayPayload.direct(query, to: nodeID)) else {
            throw TransferError(.peerUnreachable, "the relay link to node \(nodeID) is overloaded or closing")
        }
        let events = TickingEvents(inbox, every: Self.queryTickInterval)
        defer { events.stop() }
        let deadline = ContinuousClock.now + timeout
        for await event in events.stream {
            switch event {
            case .relay(.pieces(let answer)):
                if case .done(let result) = try take(answer) { return result }
            case .relay(.pathLost(let why)):
                throw pathLost(why)
            case .relay(.unreadable(let why)):
                let message = "node \(nodeID) answered a piece query with a message this node cannot read: \(why)"
                throw TransferError(.protocolViolation, message)
            case .relay(.message), .relay(.binary):
                continue
            case .tick:
                events.ticked()
                // A provider that predates piece queries closes a direct socket they open.
                if let direct, hub.route(to: nodeID, via: direct.linkID) == nil { throw pathLost("the socket closed") }
            }
            if ContinuousClock.now > deadline {
                throw TransferError(.timeout, "node \(nodeID) did not answer a piece query (\(kind.rawValue)) within \(timeout)")
            }
        }
        throw TransferError(.peerUnreachable, "the piece query to node \(nodeID) ended without an answer")
    }

    /// The error for a query whose path closed. A direct socket is let go of, so that the
    /// next piece opens a new one instead of failing on the dead one.
    private func pathLost(_ why: String) -> TransferError {
        direct?.close()
        return TransferError(.peerUnreachable, "the route to node \(nodeID) was lost during a piece query: \(why)")
    }
}
