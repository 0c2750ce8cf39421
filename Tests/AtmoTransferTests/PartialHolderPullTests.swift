import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoTransfer

/// A model that no source offers whole, only nodes still pulling it (issue 10): with the
/// entry they announced, the pull takes their pieces and installs the file verified; without
/// a manifest to check pieces against it says to wait or to pull from a complete holder.
@Suite(.serialized)
struct PartialHolderPullTests {
    static let pieceSize: Int64 = 64 * 1024

    /// Two partial holders: the first holds the even pieces, the second the odd ones.
    static func holders(_ model: (ModelEntry, Data, [UInt8])) -> [FakePeer] {
        let count = PieceManifest.pieceCount(fileSize: model.0.sizeBytes, pieceSize: pieceSize)
        return [0, 1].map { parity in
            var have = Bitfield(count: count)
            for index in 0..<count where index % 2 == parity { have[index] = true }
            var peer = FakePeer.seed(model)
            peer.partial = (have, pieceSize)
            return peer
        }
    }

    /// Pulls from `peers`, each listed as a partial holder (as the node's plan marks them).
    static func pull(
        _ entry: ModelEntry, announced: ModelEntry?, from peers: [FakePeer], outcomes: OutcomeLog = OutcomeLog(),
        in directory: TemporaryDirectory
    ) async throws -> Result<PullResult, TransferError> {
        let store = LocalModelStore(directory: directory.sub("pulled"))
        let database = try StateDatabase()
        return try await withFakePeers(peers) { urls in
            let sources = urls.enumerated().map { index, url in
                var source = PullSource(baseURL: url, nodeID: "node-\(index)")
                source.partial = true
                return source
            }
            var request = PullRequest(modelID: entry.modelID, sources: sources, destination: store, requesterNodeID: PullHarness.requester)
            request.announcedEntry = announced
            let prepared = request
            return try await PullHarness.withEngine(PullHarness.configuration(), database: database) { engine in
                try await withDeadline(60) { await PullHarness.pull(engine, prepared, outcomes: outcomes) }
            }
        }
    }

    @Test func theEntryPartialHoldersAnnouncedIsPulledFromThemVerified() async throws {
        let model = FakePeer.swarmModel()
        let peers = Self.holders(model)
        let outcomes = OutcomeLog()
        try await withTemporaryDirectory { directory in
            let outcome = try await Self.pull(model.0, announced: model.0, from: peers, outcomes: outcomes, in: directory)
            let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
            #expect(result.entry.sha256 == model.0.sha256)
            #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == model.1)
            #expect(!peers[0].log.pieces.isEmpty && !peers[1].log.pieces.isEmpty)
            // Not listing a model it is still pulling is no failure of a partial holder.
            #expect(outcomes.summary.count == 2 && outcomes.summary.allSatisfy { $0.failure == nil }, "\(outcomes.summary)")
        }
    }

    @Test func withoutTheAnnouncedEntryTheModelIsNotOffered() async throws {
        let model = FakePeer.swarmModel()
        try await withTemporaryDirectory { directory in
            let outcome = try await Self.pull(model.0, announced: nil, from: Self.holders(model), in: directory)
            #expect(outcome.failure?.code == .notOffered)
        }
    }

    @Test func anAnnouncedEntryWithoutAManifestFailsSayingToWait() async throws {
        let model = FakePeer.swarmModel()
        var plain = model.0
        (plain.pieceSize, plain.piecesSHA256) = (nil, nil)
        try await withTemporaryDirectory { directory in
            let outcome = try await Self.pull(model.0, announced: plain, from: Self.holders(model), in: directory)
            let failure = try #require(outcome.failure)
            #expect(failure.code == .notOffered)
            #expect(failure.message.contains("still downloading") && failure.message.contains("wait until"), "\(failure.message)")
        }
    }

    @Test func anotherVersionThanTheOneAskedForIsNotPulled() async throws {
        let model = FakePeer.swarmModel()
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            let outcome = try await withFakePeers(Self.holders(model)) { urls in
                var request = PullRequest(
                    modelID: model.0.modelID, sources: urls.map { PullSource(baseURL: $0) }, destination: store,
                    expectedSHA256: String(repeating: "0", count: 64), requesterNodeID: PullHarness.requester)
                request.announcedEntry = model.0
                let prepared = request
                return try await PullHarness.withEngine(PullHarness.configuration(), database: try StateDatabase()) { engine in
                    await PullHarness.pull(engine, prepared)
                }
            }
            #expect(outcome.failure?.code == .notOffered)
            #expect(store.installed().isEmpty)
        }
    }
}
