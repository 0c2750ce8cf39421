import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoTransfer

/// A pull from one whole-file source writes each piece as soon as its last byte is in
/// (`SwarmSession.streamPiece`): a run cut short keeps the whole pieces it brought.
@Suite(.serialized)
struct SwarmStreamedPullTests {
    static let pieceSize = SwarmPullTests.pieceSize

    @Test func aRunCutShortKeepsTheWholePiecesItBrought() async throws {
        let model = FakePeer.swarmModel()
        // The first request (the whole file: one run) breaks off 1,000 bytes into piece 10.
        let seed = FakePeer.seed(model) { $0.number == 0 ? .dropAfter(bytes: Int(10 * Self.pieceSize) + 1000) : .honest }
        try await withTemporaryDirectory { directory in
            let outcome = try await SwarmPullTests.pull(model.0, from: [seed], in: directory)
            let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
            #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == model.1)
            let requests = seed.log.pieces
            #expect(requests.count == 2, "\(requests)")
            // The second request starts at the piece that was cut, not at the run's start.
            #expect(requests.last?.offset == 10 * Self.pieceSize, "\(requests)")
        }
    }

    @Test func aFlippedByteInAStreamedRunCostsOnePiece() async throws {
        let model = FakePeer.swarmModel()
        let flipAt = 17 * Self.pieceSize + 5
        let seed = FakePeer.seed(model) { $0.number == 0 ? .flipByte(at: flipAt) : .honest }
        try await withTemporaryDirectory { directory in
            let outcome = try await SwarmPullTests.pull(model.0, from: [seed], in: directory)
            let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
            #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == model.1)
            #expect(seed.log.requestedBytes == Int64(model.1.count) + Self.pieceSize)
            #expect(seed.log.pieces.last.map { $0.offset == 17 * Self.pieceSize && $0.length == Self.pieceSize } == true)
        }
    }
}
