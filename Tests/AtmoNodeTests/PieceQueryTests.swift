import AtmoMesh
import AtmoProtocol
import AtmoStore
import AtmoTesting
import AtmoTransfer
import Foundation
import Logging
import Synchronization
import Testing

@testable import AtmoNode

/// Piece queries over WebSocket routes (docs/PROTOCOL.md §8, "Piece queries"): a node's
/// own `/v1/transfers/ws` answers which pieces it holds and its manifests, for a file it
/// offers whole and one it is still pulling; the consumer's `RelaySourceChannel` asks only
/// peers that announced `piece_queries`, checks every answer against the entry, and gives
/// up after its timeout.
struct PieceQueryTests {
    // MARK: - A real node, over its own WebSocket

    @Test func aPartialHolderSaysWhichPiecesItHoldsAndServesItsManifest() async throws {
        try await withPartialNode(held: [0, 1, 3]) { node, _, partial in
            let channel = PartialRelayServingTests.consumer(to: node)
            defer { channel.direct?.close() }
            let have = try #require(try await channel.availability(sha256: partial.sha256))
            #expect(have.pieceSize == PartialFixture.pieceSize && have.pieceCount == PartialFixture.pieceCount && !have.complete)
            #expect(have.haveBytes == [0b0_1011])
            node.node.partialOffers.pieceVerified(sha256: partial.sha256, index: 2)
            #expect(try await channel.availability(sha256: partial.sha256)?.haveBytes == [0b0_1111])

            // The manifest the pull checks pieces against, checked against the entry here.
            var entry = partial.entry
            entry.piecesSHA256 = partial.manifest.manifestSHA256
            #expect(try await channel.manifest(for: entry) == partial.manifest)
            // An entry naming other digests: the node's manifest does not check out.
            let wrong = await #expect(throws: TransferError.self) { _ = try await channel.manifest(for: partial.entry) }
            #expect(wrong?.code == .protocolViolation, "\(String(describing: wrong))")

            // A file it has nothing of.
            let other = String(repeating: "c", count: 64)
            #expect(try await channel.availability(sha256: other) == nil)
            var unknown = entry
            unknown.sha256 = other
            #expect(try await channel.manifest(for: unknown) == nil)

            // The same socket still carries pieces.
            let first = try await channel.fetchPiece(of: partial.entry, offset: 0, length: 65536) { _ in }
            #expect(Array(first.readableBytesView) == partial.bytes(0...65535))
        }
    }

    @Test func aFileOfferedWholeIsCompleteAndItsStoredManifestIsServed() async throws {
        try await withFixtureNode { node, fixture in
            let entry = try #require(node.node.inventory.item(modelID: NodeFixture.tinyID)?.entry)
            #expect(entry.manifestReference != nil, "\(entry)")
            let channel = PartialRelayServingTests.consumer(to: node)
            defer { channel.direct?.close() }
            let have = try #require(try await channel.availability(sha256: entry.sha256))
            #expect(have.complete && have.pieceCount == 1)
            let manifest = try #require(try await channel.manifest(for: entry))
            #expect(manifest.pieceCount == 1)
            #expect(manifest.matches(piece: 0, bytes: try fixture.bytes(NodeFixture.tinyID).withUnsafeBytes { UnsafeRawBufferPointer($0) }))
        }
    }

    /// A provider that predates piece queries closes a direct socket whose first message is
    /// one (it wants a `model_request`); here the node closes it because the query names no
    /// valid requester, the same close. The query fails at once, not after its timeout, and
    /// the link opens a new socket for the pieces that follow.
    @Test func aSocketClosedOnAQueryFailsItAndThePiecesOpenANewOne() async throws {
        try await withPartialNode(held: [0, 1]) { node, _, partial in
            let good = PartialRelayServingTests.consumer(to: node)
            defer { good.direct?.close() }
            var nameless = RelaySourceChannel(
                nodeID: good.nodeID, hub: good.hub, mesh: good.mesh, localNodeID: "", direct: good.direct, modes: good.modes)
            nameless.queryTimeout = .seconds(60)
            let closed = await #expect(throws: TransferError.self) { _ = try await nameless.availability(sha256: partial.sha256) }
            #expect(closed?.code == .peerUnreachable, "\(String(describing: closed))")
            let first = try await good.fetchPiece(of: partial.entry, offset: 0, length: 65536) { _ in }
            #expect(Array(first.readableBytesView) == partial.bytes(0...65535))
        }
    }

    // MARK: - A scripted peer on a relay link

    /// A channel to node `p1` on a fake relay link; `answer` scripts p1's replies to each
    /// query (payloads it sends back). Returns the channel and the queries sent.
    static func scripted(
        capabilities: [String] = ["models", RelayBinaryFrame.capability, PieceQueryLimits.capability], timeout: Duration = .seconds(120),
        answer: @escaping @Sendable (PieceQuery) -> [[String: JSONValue]]
    ) -> (RelaySourceChannel, Asked) {
        let hub = TransferHub()
        let asked = Asked()
        hub.linkJoined("ws://relay", relayForwardsBinary: true) { [hub] frame in
            guard case .text(.direct(let direct)) = frame,
                let query = try? WireCoding.decode(PieceQuery.self, from: WireCoding.encode(direct.payload))
            else { return true }
            asked.queries.withLock { $0.append(query) }
            for payload in answer(query) { hub.received(payload, from: "p1", via: "ws://relay") }
            return true
        }
        hub.peerPresent("ws://relay", nodeID: "p1", capabilities: capabilities)
        let gossip = GossipState<String>(
            nodeID: "consumer", nodeName: "consumer", transferEndpoints: .init(http: nil), models: [], random: SplitMix64(seed: 1),
            peerAddress: { catalog in catalog.transferEndpoints.http.map(MeshClient.trimmed) })
        var channel = RelaySourceChannel(
            nodeID: "p1", hub: hub, mesh: MeshState(gossip: gossip, catalog: MeshCatalog()), localNodeID: "consumer")
        // Answers come at once: the timeout only bounds a test that goes wrong (a loaded
        // machine takes a while over a manifest of two parts in a debug build: over 30 s once).
        channel.queryTimeout = timeout
        return (channel, asked)
    }

    /// The queries a scripted peer was sent.
    final class Asked: Sendable {
        let queries = Mutex<[PieceQuery]>([])
    }

    /// 10,000 pieces of 64 KiB: a manifest of two parts.
    static let manifest = PieceManifest(
        fileSize: 10_000 << 16, pieceSize: 1 << 16,
        digests: (0..<320_000).map { UInt8(truncatingIfNeeded: $0 * 7 + $0 >> 8) })!
    static let sha256 = String(repeating: "d", count: 64)
    static var entry: ModelEntry {
        ModelEntry(
            modelID: "big.gguf", name: "big", type: "llm", format: "gguf", sizeBytes: manifest.fileSize, sha256: sha256,
            pieceSize: manifest.pieceSize, piecesSHA256: manifest.manifestSHA256)
    }

    static func parts(_ manifest: PieceManifest = manifest, requestID: String) -> [[String: JSONValue]] {
        PieceManifestPart.parts(of: manifest, sha256: sha256, requestID: requestID).map(RelayPayload.object)
    }

    @Test func aPeerThatDidNotAnnounceQueriesIsNotAsked() async throws {
        let (channel, asked) = Self.scripted(capabilities: ["models", RelayBinaryFrame.capability]) { _ in [] }
        #expect(try await channel.availability(sha256: Self.sha256) == nil)
        #expect(try await channel.manifest(for: Self.entry) == nil)
        #expect(asked.queries.withLock { $0 }.isEmpty)
    }

    @Test func aManifestInPartsIsReassembledAndChecked() async throws {
        let (channel, asked) = Self.scripted { query in Self.parts(requestID: query.requestID) }
        #expect(try await channel.manifest(for: Self.entry) == Self.manifest)
        #expect(asked.queries.withLock { $0.map(\.kind) } == [.manifest])
        #expect(Self.parts(requestID: "r").count == 2)
    }

    @Test func answersThatDoNotCheckOutAreViolations() async throws {
        // Parts out of order.
        let (reordered, _) = Self.scripted { query in Self.parts(requestID: query.requestID).reversed() }
        let outOfOrder = await #expect(throws: TransferError.self) { _ = try await reordered.manifest(for: Self.entry) }
        #expect(outOfOrder?.code == .protocolViolation)
        // Digests other than those the entry names.
        var flipped = Self.manifest.digests
        flipped[12345] ^= 1
        let lie = PieceManifest(fileSize: Self.manifest.fileSize, pieceSize: Self.manifest.pieceSize, digests: flipped)!
        let (liar, _) = Self.scripted { query in Self.parts(lie, requestID: query.requestID) }
        let lied = await #expect(throws: TransferError.self) { _ = try await liar.manifest(for: Self.entry) }
        #expect(lied?.code == .protocolViolation)
        // Another piece size than the entry's.
        let coarser = PieceManifest(fileSize: Self.manifest.fileSize, pieceSize: 1 << 20, digests: Array(Self.manifest.digests.prefix(625 * 32)))!
        let (other, _) = Self.scripted { query in Self.parts(coarser, requestID: query.requestID) }
        let sized = await #expect(throws: TransferError.self) { _ = try await other.manifest(for: Self.entry) }
        #expect(sized?.code == .protocolViolation)
        // The pieces of another file.
        let (confused, _) = Self.scripted { query in
            let have = PieceAvailability(sha256: String(repeating: "e", count: 64), pieceSize: 1 << 16, pieceCount: 8, complete: true, have: [])
            return [RelayPayload.object(PieceHave(requestID: query.requestID, availability: have))]
        }
        let mixed = await #expect(throws: TransferError.self) { _ = try await confused.availability(sha256: Self.sha256) }
        #expect(mixed?.code == .protocolViolation)
    }

    @Test func unavailableIsNilAndSilenceTimesOut() async throws {
        let (none, _) = Self.scripted { query in
            [RelayPayload.object(PieceUnavailable(requestID: query.requestID, sha256: query.sha256, message: "nothing"))]
        }
        #expect(try await none.availability(sha256: Self.sha256) == nil)
        #expect(try await none.manifest(for: Self.entry) == nil)
        // A node that takes the query and never answers (one that predates it, behind a
        // relay that passed the capability on): the timeout, not a hang.
        let (silent, asked) = Self.scripted(timeout: .milliseconds(300)) { _ in [] }
        let error = await #expect(throws: TransferError.self) { _ = try await silent.availability(sha256: Self.sha256) }
        #expect(error?.code == .timeout, "\(String(describing: error))")
        #expect(asked.queries.withLock { $0.count } == 1)
    }
}
