import AtmoProtocol
import AtmoStore
import AtmoTesting
import Crypto
import Foundation
import Testing

@testable import AtmoTransfer

/// Pulls of an entry that names a piece manifest: every source at once, each piece verified
/// on arrival and blamed on its sender, whole-file hash last.
@Suite(.serialized)
struct SwarmPullTests {
    static let pieceSize: Int64 = 64 * 1024

    /// Pulls `entry` from `peers` (each served on loopback) into a fresh store.
    static func pull(
        _ entry: ModelEntry, from peers: [FakePeer], database: StateDatabase? = nil, store: LocalModelStore? = nil,
        configuration: PullConfiguration = PullHarness.configuration(), outcomes: OutcomeLog = OutcomeLog(), in directory: TemporaryDirectory
    ) async throws -> Result<PullResult, TransferError> {
        let store = store ?? LocalModelStore(directory: directory.sub("pulled"))
        let database = try database ?? StateDatabase()
        return try await withFakePeers(peers) { urls in
            let sources = urls.enumerated().map { PullSource(baseURL: $1, nodeID: "node-\($0)") }
            return try await PullHarness.withEngine(configuration, database: database) { engine in
                try await withDeadline(60) {
                    await PullHarness.pull(engine, PullHarness.request(entry.modelID, from: sources, into: store), outcomes: outcomes)
                }
            }
        }
    }

    @Test func threeSeedsEachServePiecesOfOnePull() async throws {
        let model = FakePeer.swarmModel()
        let peers = (0..<3).map { _ in FakePeer.seed(model, behaviour: { _ in .slow(seconds: 0.01) }) }
        let outcomes = OutcomeLog()
        try await withTemporaryDirectory { directory in
            let outcome = try await Self.pull(model.0, from: peers, outcomes: outcomes, in: directory)
            let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
            #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == model.1)
            for peer in peers { #expect(!peer.log.pieces.isEmpty, "every seed served pieces") }
            // No byte was asked twice: no piece failed, the endgame may add at most a few.
            let requested = peers.map(\.log.requestedBytes).reduce(0, +)
            #expect(requested >= Int64(model.1.count) && requested <= Int64(model.1.count) + 3 * Self.pieceSize)
            #expect(outcomes.summary.count == 3 && outcomes.summary.allSatisfy { $0.failure == nil })
            #expect(result.bytesTransferred == Int64(model.1.count))
        }
    }

    @Test func aLyingPieceCostsOnePieceAndTheLiarIsBlamed() async throws {
        let model = FakePeer.swarmModel()
        let flipAt = 5 * Self.pieceSize + 100
        // Peer 0 flips one byte in piece 5 each time it sends it.
        let liar = FakePeer.seed(model) { $0.offset <= flipAt && flipAt < $0.offset + $0.length ? .flipByte(at: flipAt) : .slow(seconds: 0.01) }
        let honest = [FakePeer.seed(model), FakePeer.seed(model)]
        let outcomes = OutcomeLog()
        try await withTemporaryDirectory { directory in
            // One connection per peer, so the liar surely gets asked for piece 5 early on.
            let outcome = try await Self.pull(
                model.0, from: [liar] + honest, configuration: PullHarness.configuration(connections: 1), outcomes: outcomes, in: directory)
            let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
            #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == model.1)
            let requested = ([liar] + honest).map(\.log.requestedBytes).reduce(0, +)
            let fifth = liar.log.pieces.contains { $0.offset == 5 * Self.pieceSize }
            // At most one piece re-sent per bad copy (plus the endgame's duplicates).
            #expect(requested <= Int64(model.1.count) + (fifth ? Self.pieceSize : 0) + 3 * Self.pieceSize)
            // The bad piece was never asked of the liar again.
            #expect(liar.log.pieces.filter { $0.offset == 5 * Self.pieceSize }.count <= 1)
        }
    }

    @Test func aPeerSendingTwoBadPiecesIsDroppedAndReported() async throws {
        let model = FakePeer.swarmModel()
        // Every piece it sends is corrupt.
        let liar = FakePeer.seed(model) { .flipByte(at: $0.offset) }
        let honest = FakePeer.seed(model) { _ in .slow(seconds: 0.02) }
        let outcomes = OutcomeLog()
        try await withTemporaryDirectory { directory in
            let outcome = try await Self.pull(model.0, from: [liar, honest], outcomes: outcomes, in: directory)
            let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
            #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == model.1)
            // Two bad pieces, then it was asked for nothing more (its queue held at most 2).
            #expect(liar.log.pieces.count >= 2 && liar.log.pieces.count <= 3)
            let liarOutcome = outcomes.all.first { $0.source.nodeID == "node-0" }
            guard case .failure = liarOutcome?.outcome else {
                Issue.record("the liar's outcome is \(String(describing: liarOutcome?.outcome))")
                return
            }
        }
    }

    @Test func anOlderPeerWithoutAManifestServesVerifiedPieces() async throws {
        let model = FakePeer.swarmModel()
        let seed = FakePeer.seed(model) { _ in .slow(seconds: 0.01) }
        var older = FakePeer(entry: model.0, bytes: model.1) { _ in .slow(seconds: 0.01) }
        older.manifest = nil
        try await withTemporaryDirectory { directory in
            // The older peer is listed first: its entry pins the artefact, the manifest comes
            // from the other.
            let outcome = try await Self.pull(model.0, from: [older, seed], in: directory)
            let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
            #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == model.1)
            #expect(!older.log.pieces.isEmpty && !seed.log.pieces.isEmpty)
        }
    }

    @Test func aPartialHolderIsAskedOnlyForWhatItHolds() async throws {
        let model = FakePeer.swarmModel()
        let count = PieceManifest.pieceCount(fileSize: model.0.sizeBytes, pieceSize: Self.pieceSize)
        var have = Bitfield(count: count)
        for index in 0..<(count / 2) { have[index] = true }
        var partial = FakePeer.seed(model)
        partial.partial = (have, Self.pieceSize)
        let seed = FakePeer.seed(model) { _ in .slow(seconds: 0.02) }
        try await withTemporaryDirectory { directory in
            let outcome = try await Self.pull(model.0, from: [seed, partial], in: directory)
            let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
            #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == model.1)
            #expect(!partial.log.pieces.isEmpty)
            #expect(partial.log.pieces.allSatisfy { $0.offset < Int64(count / 2) * Self.pieceSize })
        }
    }

    @Test func aManifestThatLiesConsistentlyFailsTheWholeFileHash() async throws {
        var model = FakePeer.swarmModel()
        var forged = model.1
        forged[1000] ^= 0xff
        // A peer serving other bytes with a manifest that matches them, under the real entry.
        var digests: [UInt8] = []
        var offset = 0
        while offset < forged.count {
            let end = min(forged.count, offset + Int(Self.pieceSize))
            digests += Array(SHA256.hash(data: forged[offset..<end]))
            offset = end
        }
        model.0.piecesSHA256 = SHA256.hash(data: digests).hexString
        var liar = FakePeer(entry: model.0, bytes: forged)
        liar.manifest = digests
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            let outcome = try await Self.pull(model.0, from: [liar], store: store, in: directory)
            #expect(outcome.failure?.code == .hashMismatch)
            #expect(PullHarness.partials(in: store).isEmpty && store.installed().isEmpty)
        }
    }

    @Test func aHolderFoundWhileThePullRunsJoinsIt() async throws {
        // 257 pieces: runs of 64 at a second each over one connection, from the first alone
        // (read through NIO: a spliced run would be the whole file, `splicedRunBytes`; see
        // SwarmSplicedPullTests for a spliced run a holder joins).
        let model = FakePeer.swarmModel(size: 256 * 64 * 1024 + 123)
        let first = FakePeer.seed(model) { _ in .slow(seconds: 1) }
        let later = FakePeer.seed(model)
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            let outcome = try await withFakePeers([first, later]) { urls in
                var request = PullHarness.request(model.0.modelID, from: [PullSource(baseURL: urls[0], nodeID: "first")], into: store)
                let joining = PullSource(baseURL: urls[1], nodeID: "later")
                request.discoverSources = { [PullSource(baseURL: urls[0], nodeID: "first"), joining] }
                var configuration = PullHarness.configuration(connections: 1)
                configuration.splicesRanges = false
                return try await PullHarness.withEngine(configuration, database: try StateDatabase()) { engine in
                    try await withDeadline(60) { [request] in await PullHarness.pull(engine, request) }
                }
            }
            let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
            #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == model.1)
            // From the first alone it would take 5 s; the one found after 2 s served the rest.
            #expect(!later.log.pieces.isEmpty)
            #expect(first.log.requestedBytes < Int64(model.1.count))
        }
    }

    @Test func aManifestThatTwoPeersContradictIsDroppedAndThePullGoesOnWithTheirs() async throws {
        let model = FakePeer.swarmModel()
        // The first source serves the right bytes but names (and serves) a manifest of other bytes.
        var forged = model.1
        for index in stride(from: 0, to: forged.count, by: Int(Self.pieceSize)) { forged[index] ^= 0x55 }
        var digests: [UInt8] = []
        var offset = 0
        while offset < forged.count {
            let end = min(forged.count, offset + Int(Self.pieceSize))
            digests += Array(SHA256.hash(data: forged[offset..<end]))
            offset = end
        }
        var lyingEntry = model.0
        lyingEntry.piecesSHA256 = SHA256.hash(data: digests).hexString
        var namer = FakePeer(entry: lyingEntry, bytes: model.1)
        namer.manifest = digests
        let honest = [FakePeer.seed(model), FakePeer.seed(model)]
        let outcomes = OutcomeLog()
        try await withTemporaryDirectory { directory in
            let outcome = try await Self.pull(model.0, from: [namer] + honest, outcomes: outcomes, in: directory)
            let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
            #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == model.1)
            // The manifest the others name checked out: only the source that named the doubted one is blamed.
            let blamed = outcomes.all.filter { if case .failure = $0.outcome { return true } else { return false } }.map(\.source.nodeID)
            #expect(blamed == ["node-0"])
        }
    }
}
