import AtmoProtocol
import AtmoTransfer
import NIOCore

/// The relay path of a piece was lost mid-way (the relay's connection closed, or the node
/// left it): the error to report if it does not come back, and the bytes that came.
struct RelayRouteLost: Error {
    let error: TransferError
    let partial: ByteBuffer
}

/// A relay that restarts, or a link that reconnects, is back within seconds: a piece whose
/// path is lost mid-way waits for a route (up to `routeLossWait`) and asks for the rest of
/// its bytes, instead of failing. A swarm counts failures in a row per peer, and the pieces
/// in flight on a relay all fail at once when it goes: without this, one relay restart
/// dropped the peer. The wait is the patience a one-source pull had (three attempts, each
/// waiting `routeWait` for a route). The direct socket is not waited for (a socket that
/// closed fails the piece at once, as before).
extension RelaySourceChannel {
    /// Route losses one piece rides out before it fails.
    static let maxRouteLossesPerPiece = 3
    /// How long a piece whose relay path was lost waits for a route back.
    static let routeLossWait = Duration.seconds(30)

    func fetchPiece(
        of entry: ModelEntry, offset: Int64, length: Int64, received: @escaping @Sendable (Int64) -> Void
    ) async throws -> ByteBuffer {
        var assembled = ByteBufferAllocator().buffer(capacity: 0)
        var losses = 0
        while true {
            let done = Int64(assembled.readableBytes)
            do {
                var rest = try await fetchRange(of: entry, offset: offset + done, length: length - done) { received(done + $0) }
                guard done > 0 else { return rest }
                assembled.writeBuffer(&rest)
                return assembled
            } catch let lost as RelayRouteLost {
                var partial = lost.partial
                assembled.writeBuffer(&partial)
                losses += 1
                // Every byte came (each chunk verified on arrival), only the end was lost.
                if Int64(assembled.readableBytes) == length { return assembled }
                guard direct == nil, losses < Self.maxRouteLossesPerPiece,
                    await hub.waitForRoute(to: nodeID, timeout: Self.routeLossWait) != nil
                else { throw lost.error }
            }
        }
    }
}
