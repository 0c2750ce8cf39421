import AtmoMesh
import AtmoProtocol
import AtmoTesting
import AtmoTransfer
import Foundation
import Logging
import Testing

@testable import AtmoNode

/// Serving while downloading over the node's own WebSocket (`/v1/transfers/ws`), which runs
/// the relayed transfer code: a `model_request` for a held range of a file the node is still
/// pulling is served by the chunked sender from the partial file; one touching a piece not
/// held is refused with `model_transfer_cancel` reason `not_held`, which the consumer's
/// `RelaySourceChannel` reports as `TransferError.Code.notHeld`.
struct PartialRelayServingTests {
    static func consumer(to node: RunningNode) -> RelaySourceChannel {
        let hub = TransferHub()
        let gossip = GossipState<String>(
            nodeID: "consumer", nodeName: "consumer", transferEndpoints: .init(http: nil), models: [], random: SplitMix64(seed: 1),
            peerAddress: { catalog in catalog.transferEndpoints.http.map(MeshClient.trimmed) })
        let link = DirectSocketLink(
            url: "ws://127.0.0.1:\(node.port)\(HTTPAPI.transferSocketPath)", nodeID: node.node.nodeID, hub: hub,
            logger: Logger(label: "test"))
        var channel = RelaySourceChannel(
            nodeID: node.node.nodeID, hub: hub, mesh: MeshState(gossip: gossip, catalog: MeshCatalog()), localNodeID: "consumer",
            direct: link)
        // A guard, not a bound: the first query opens the socket too, and a loaded run took
        // over the default 5 s to it.
        channel.queryTimeout = .seconds(60)
        return channel
    }

    @Test(arguments: [[TransferMode.fastBinary, .fastText, .compat], [.fastText], [.compat]])
    func aHeldRangeIsServedAndAMissingOneRefusedNotHeld(modes: [TransferMode]) async throws {
        try await withPartialNode(held: [0, 1, 3]) { node, _, partial in
            var channel = Self.consumer(to: node)
            channel.modes = modes
            defer { channel.direct?.close() }
            // Pieces 0-1, and piece 3 alone: fast_binary's 1 MiB chunks would cover the
            // whole file; the provider sends chunks no larger than a piece.
            let first = try await channel.fetchPiece(of: partial.entry, offset: 0, length: 131_072) { _ in }
            #expect(Array(first.readableBytesView) == partial.bytes(0...131_071))
            let third = try await channel.fetchPiece(of: partial.entry, offset: 196_608, length: 65536) { _ in }
            #expect(Array(third.readableBytesView) == partial.bytes(196_608...262_143))

            let missing = await #expect(throws: TransferError.self) {
                _ = try await channel.fetchPiece(of: partial.entry, offset: 131_072, length: 65536) { _ in }
            }
            #expect(missing?.code == .notHeld, "\(String(describing: missing))")
            #expect(missing?.message.contains("not_held") == true, "\(String(describing: missing))")

            // Once verified, it is served.
            try partial.fill(2)
            node.node.partialOffers.pieceVerified(sha256: partial.sha256, index: 2)
            let second = try await channel.fetchPiece(of: partial.entry, offset: 131_072, length: 65536) { _ in }
            #expect(Array(second.readableBytesView) == partial.bytes(131_072...196_607))

            // The offer ended, the inventory has no such file (yet): not held, for
            // `PartialOffers.endGrace` (the pull may have installed it, about to be listed).
            node.node.partialOffers.end(sha256: partial.sha256)
            let ended = await #expect(throws: TransferError.self) {
                _ = try await channel.fetchPiece(of: partial.entry, offset: 0, length: 65536) { _ in }
            }
            #expect(ended?.code == .notHeld, "\(String(describing: ended))")
        }
    }

    /// The refusal as it goes on the wire, and how a peer that predates it reads it.
    @Test func theRefusalReasonIsNotHeldOnTheWire() throws {
        let cancel = ModelTransferCancel(
            requestID: "r", modelID: "m", reason: .notHeld, message: "pieces 2 of 5 are not held yet", cancelledBy: "n")
        let data = try WireCoding.encode(cancel)
        let object = try JSONSerialization.jsonObject(with: data)
        let json = try #require(object as? [String: Any])
        #expect(json["reason"] as? String == "not_held")
        let decoded = try WireCoding.decode(ModelTransferCancel.self, from: data)
        #expect(decoded.reason == .notHeld)
        #expect(ErrorMapping.peerCode(forCancel: decoded.reason) == .notHeld)
        #expect(ErrorMapping.peerCode(forCancel: CancelReason("something_new")) == .peerError)
    }
}
