import AtmoProtocol
import AtmoTransfer
import NIOCore

/// The relay path of a piece was lost mid-way (the relay's connection closed, or the node
/// left it): the error to report, a lost link (`TransferError.isLinkLost`), and the bytes
/// that came.
struct RelayRouteLost: Error {
    let error: TransferError
    let partial: ByteBuffer

    init(_ message: String, reason: String, partial: ByteBuffer) {
        error = .linkLost(message, reason: reason)
        self.partial = partial
    }
}

/// A piece whose path is lost mid-way fails at once, as a lost link, unless every byte had
/// come. A swarm gives it to its other sources then and does not blame the node (pieces in
/// flight on a relay all fail together when it goes; they count as no failure of the node),
/// and the node's next request waits for a route back (`routeWait`: a relay restart, or a
/// link's reconnect). The piece waited here for the relay, up to 30 s, before: the other
/// sources could not have it meanwhile unless the endgame copied it.
extension RelaySourceChannel {
    func fetchPiece(
        of entry: ModelEntry, offset: Int64, length: Int64, received: @escaping @Sendable (Int64) -> Void
    ) async throws -> ByteBuffer {
        do {
            return try await fetchRange(of: entry, offset: offset, length: length, received: received)
        } catch let lost as RelayRouteLost {
            // Every byte came (each chunk verified on arrival), only the end was lost.
            if Int64(lost.partial.readableBytes) == length { return lost.partial }
            throw lost.error
        }
    }
}
