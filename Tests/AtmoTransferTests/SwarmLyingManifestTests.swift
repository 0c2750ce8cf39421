import AtmoProtocol
import Crypto
import AtmoTesting
import Foundation
import Testing

@testable import AtmoTransfer

/// A first source that names a made-up piece manifest (and serves it, and corrupt bytes):
/// its entry pins the pull, yet it costs a few pieces, not the file, and it is blamed.
@Suite(.serialized)
struct SwarmLyingManifestTests {
    static let pieceSize: Int64 = 64 * 1024

    /// A peer whose entry names a manifest of random digests, served too, and whose every
    /// range has a flipped byte.
    static func liar(_ model: (ModelEntry, Data, [UInt8])) -> FakePeer {
        var generator = SystemRandomNumberGenerator()
        let digests = (0..<model.2.count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        var entry = model.0
        entry.piecesSHA256 = SHA256.hash(data: digests).hexString
        var liar = FakePeer(entry: entry, bytes: model.1) { .flipByte(at: $0.offset) }
        liar.manifest = digests
        return liar
    }

    static func failed(_ outcomes: OutcomeLog, node: String) -> Bool {
        outcomes.all.contains { if case .failure = $0.outcome { $0.source.nodeID == node } else { false } }
    }

    @Test func theManifestTheOtherSourcesNameIsUsedAndTheLiarIsBlamed() async throws {
        let model = FakePeer.swarmModel()
        let liar = Self.liar(model)
        let honest = [FakePeer.seed(model) { _ in .slow(seconds: 0.01) }, FakePeer.seed(model) { _ in .slow(seconds: 0.01) }]
        let outcomes = OutcomeLog()
        try await withTemporaryDirectory { directory in
            let outcome = try await SwarmPullTests.pull(model.0, from: [liar] + honest, outcomes: outcomes, in: directory)
            let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
            #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == model.1)
            // The liar sent the pieces asked of it before the doubt, not the file (before: the
            // whole file, then an honest peer sent it all again).
            let size = Int64(model.1.count)
            #expect(liar.log.requestedBytes <= 8 * Self.pieceSize, "the liar sent \(liar.log.requestedBytes) bytes")
            let requested = ([liar] + honest).map(\.log.requestedBytes).reduce(0, +)
            #expect(requested <= size + 16 * Self.pieceSize, "\(requested) bytes asked for \(size)")
            // The pull went on with the manifest the honest peers name, verified piece by piece.
            #expect(result.entry.piecesSHA256 == model.0.piecesSHA256)
            #expect(Self.failed(outcomes, node: "node-0"), "the liar is blamed: \(outcomes.summary)")
            #expect(!Self.failed(outcomes, node: "node-1") && !Self.failed(outcomes, node: "node-2"), "\(outcomes.summary)")
        }
    }

    @Test func withoutAnotherManifestTheOneSourceFallbackDoesNotStartWithTheLiar() async throws {
        let model = FakePeer.swarmModel()
        let liar = Self.liar(model)
        // Older peers: they name and serve no manifest.
        var plain = model.0
        (plain.pieceSize, plain.piecesSHA256) = (nil, nil)
        let honest = (0..<2).map { _ in FakePeer(entry: plain, bytes: model.1) { _ in .slow(seconds: 0.01) } }
        let outcomes = OutcomeLog()
        try await withTemporaryDirectory { directory in
            let outcome = try await SwarmPullTests.pull(model.0, from: [liar] + honest, outcomes: outcomes, in: directory)
            let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
            #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == model.1)
            #expect(liar.log.requestedBytes <= 8 * Self.pieceSize, "the liar sent \(liar.log.requestedBytes) bytes")
            let requested = ([liar] + honest).map(\.log.requestedBytes).reduce(0, +)
            #expect(requested <= Int64(model.1.count) + 16 * Self.pieceSize, "\(requested) bytes asked for \(model.1.count)")
            #expect(!Self.failed(outcomes, node: "node-1") && !Self.failed(outcomes, node: "node-2"), "\(outcomes.summary)")
        }
    }
}
