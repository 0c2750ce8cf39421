import AtmoMesh
import AtmoProtocol
import AtmoTransfer
import Foundation
import Synchronization
import Testing

@testable import AtmoNode

/// Relayed transfer messages the wire decoder refuses (hostile dec07e F5): one naming a
/// transfer of its sender ends that transfer at once with `protocol_error`, instead of being
/// dropped while the piece waits out its 15-30 s timeout (8 times per piece).
struct TransferHubUnreadableTests {
    static let provider = "provider"
    static let entry = ModelEntry(
        modelID: "lie.bin", name: "lie", type: "llm", format: "bin", sizeBytes: 1 << 20, sha256: String(repeating: "a", count: 64))

    /// What the fake provider lies about.
    enum Lie: String, CaseIterable, Sendable {
        /// A start announcing 2^50 bytes.
        case startSize
        /// An honest start, then a chunk of index 2^62.
        case chunkIndex
        /// An honest start, then a `fast_text` chunk of 260 KiB decoded.
        case oversizedChunk
    }

    /// The cancels the consumer sent the provider.
    final class Sent: Sendable {
        let cancels = Mutex<[ModelTransferCancel]>([])
    }

    /// A consumer's channel to a provider answering through `hub`'s one link, inline, with `lie`.
    static func channel(lying lie: Lie, sent: Sent) -> RelaySourceChannel {
        let hub = TransferHub()
        hub.linkJoined("relay-test", relayForwardsBinary: false) { frame in
            guard case .text(.direct(let direct)) = frame, let data = try? WireCoding.encode(direct.payload) else { return true }
            switch try? WireCoding.decodeMessage(data) {
            case .request(let request): answer(request, lying: lie, through: hub)
            case .cancel(let cancel): sent.cancels.withLock { $0.append(cancel) }
            default: break
            }
            return true
        }
        hub.peerPresent("relay-test", nodeID: provider, capabilities: ["models"])
        let gossip = GossipState<String>(
            nodeID: "consumer", nodeName: "consumer", transferEndpoints: .init(http: nil), models: [], random: SplitMix64(seed: 1),
            peerAddress: { catalog in catalog.transferEndpoints.http.map(MeshClient.trimmed) })
        var channel = RelaySourceChannel(
            nodeID: provider, hub: hub, mesh: MeshState(gossip: gossip, catalog: MeshCatalog()), localNodeID: "consumer")
        channel.modes = [.fastText]
        // Long enough that a dropped message shows as a timeout, not as the protocol error.
        channel.startTimeout = .seconds(20)
        channel.stallTimeout = .seconds(20)
        return channel
    }

    static func answer(_ request: ModelRequest, lying lie: Lie, through hub: TransferHub) {
        let source = ChunkSource(
            totalBytes: entry.sizeBytes, sha256: entry.sha256, metadata: .init(name: "lie", type: "llm", format: "bin", classes: nil))
        guard
            case .accepted(var sender, let start) = ChunkSender.open(
                request: request, source: source, localNodeID: provider, pathSupportsBinary: false)
        else { return }
        var startObject = RelayPayload.object(start)
        if lie == .startSize { startObject["total_bytes"] = .integer(1 << 50) }
        hub.received(startObject, from: provider, via: "relay-test")
        guard lie != .startSize else { return }
        let slice = sender.start(now: 0).compactMap { action -> ChunkSlice? in
            if case .send(let slice) = action { return slice }
            return nil
        }.first!
        var chunk = RelayPayload.object(sender.textChunk(slice, data: Data(count: Int(slice.length))))
        switch lie {
        case .chunkIndex: chunk["chunk_index"] = .integer(1 << 62)
        case .oversizedChunk: chunk["chunk_bytes"] = .string(Data(count: 260 << 10).base64EncodedString())
        case .startSize: break
        }
        hub.received(chunk, from: provider, via: "relay-test")
    }

    @Test(arguments: Lie.allCases)
    func anUndecodableMessageForAPieceFailsItAtOnceWithProtocolError(lie: Lie) async throws {
        let sent = Sent()
        let channel = Self.channel(lying: lie, sent: sent)
        let error = await #expect(throws: TransferError.self) {
            _ = try await channel.fetchPiece(of: Self.entry, offset: 0, length: 262_144) { _ in }
        }
        #expect(error?.code == .protocolViolation, "\(String(describing: error))")
        #expect(error?.message.contains("cannot read") == true, "\(String(describing: error))")
        // The provider is told why.
        #expect(sent.cancels.withLock { $0.map(\.reason) } == [.protocolError])
    }

    @Test func anUndecodableMessageForNoTransferOfItsSenderIsDroppedAndCounted() async {
        let hub = TransferHub()
        let inbox = hub.open(requestID: "r1", peer: "p")
        let bad: [String: JSONValue] = ["type": .string("model_transfer_chunk"), "request_id": .string("r1")]
        hub.received(bad, from: "someone-else", via: "relay")  // not the transfer's peer
        hub.received(["type": .string("model_transfer_start")], from: "p", via: "relay")  // no request id
        hub.received(bad.merging(["request_id": .string("r2")]) { $1 }, from: "p", via: "relay")  // no such transfer
        #expect(hub.unreadableDropped.load(ordering: .relaxed) == 3)
        hub.received(bad, from: "p", via: "relay")
        hub.close(requestID: "r1")
        var events: [RelayTransferEvent] = []
        for await event in inbox { events.append(event) }
        #expect(events.count == 1)
        if case .unreadable(let why) = events.first {
            #expect(why.hasPrefix("model_transfer_chunk did not decode"), "\(why)")
        } else {
            Issue.record("expected an unreadable event, got \(events)")
        }
    }

    @Test func droppedMessagesAreLoggedAtPowersOfTwo() {
        #expect((0...20).filter(TransferHub.logsUnreadable) == [1, 2, 4, 8, 16])
    }
}
