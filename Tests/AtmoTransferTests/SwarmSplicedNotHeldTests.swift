#if os(Linux)
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoTransfer

/// A whole-file source whose spliced range is answered `416` `not_held` (its whole copy went
/// away between the catalog and the request): the worker hands the range to NIO, which reads
/// the code, and the pull takes the source as partial after all, keeping every piece it got,
/// instead of dropping it as a source that broke the protocol (hostile review dec07f S7).
@Suite(.serialized)
struct SwarmSplicedNotHeldTests {
    @Test func aNotHeldAnswerToASplicedRunMakesTheSourcePartialAndKeepsItsPieces() async throws {
        let model = FakePeer.swarmModel(size: 12 * 1024 * 1024 + 77)
        // The spliced run and NIO's retry of it are refused; every later range is honest.
        let seed = FakePeer.seed(model) { $0.number < 2 ? .notHeld : .honest }
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            let request = PullHarness.request(model.0.modelID, from: [PullSource(baseURL: "", nodeID: "peer0")], into: store)
            let configuration = {
                var configuration = PullHarness.configuration(connections: 1)
                configuration.splicesRanges = true
                return configuration
            }()
            let database = try StateDatabase()
            let outcome = try await withFakePeers([seed]) { urls in
                var request = request
                request.sources = [PullSource(baseURL: urls[0], nodeID: "peer0")]
                let prepared = request
                return try await PullHarness.withEngine(configuration, database: database) { engine in
                    try await withDeadline(60) { await PullHarness.pull(engine, prepared) }
                }
            }
            let pieces = seed.log.pieces
            // The first answer came on the splice path (one long run), the second is NIO's
            // retry of the same bytes.
            #expect(pieces.count >= 2 && pieces[0].length > SwarmSession.blockSize && pieces[1].offset == pieces[0].offset, "\(pieces)")
            let failure = try #require(outcome.failure, "the pull got a piece the source refused")
            // Not `protocolViolation` ("cannot serve this model"): the source lacks a piece.
            #expect(failure.code != .protocolViolation, "\(failure)")
            #expect(failure.message.contains("holds none of the missing pieces"), "\(failure)")
            // Every piece but the refused run's first came, and is kept for a resume: the next
            // pull from an honest source asks for that one piece only.
            let honest = FakePeer.seed(model)
            let resumed = try await withFakePeers([honest]) { urls in
                var request = request
                request.sources = [PullSource(baseURL: urls[0], nodeID: "peer0")]
                let prepared = request
                return try await PullHarness.withEngine(configuration, database: database) { engine in
                    try await withDeadline(60) { await PullHarness.pull(engine, prepared) }
                }
            }
            let result = try #require(resumed.success, "\(String(describing: resumed.failure))")
            #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == model.1)
            #expect(honest.log.requestedBytes == 64 * 1024, "\(honest.log.pieces)")
        }
    }
}
#endif
