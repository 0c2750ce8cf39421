import AsyncHTTPClient
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Synchronization
import Testing

@testable import AtmoTransfer

/// A swarm pull from one whole-file source defers the piece checks to the whole-file hash,
/// asks for runs of pieces, and still loses only one piece to a bad byte.
@Suite(.serialized)
struct SwarmAlonePullTests {
    static let pieceSize = SwarmPullTests.pieceSize

    @Test func aByteFlippedByTheOnlySourceCostsOnePieceNotTheFile() async throws {
        let model = FakePeer.swarmModel()
        let flipAt = 5 * Self.pieceSize + 100
        let flipped = Mutex(false)
        // The first answer that covers the byte has it flipped; later ones are honest.
        let seed = FakePeer.seed(model) { request in
            guard request.offset <= flipAt, flipAt < request.offset + request.length else { return .honest }
            return flipped.withLock { done in
                defer { done = true }
                return done ? .honest : .flipByte(at: flipAt)
            }
        }
        try await withTemporaryDirectory { directory in
            let outcome = try await SwarmPullTests.pull(model.0, from: [seed], in: directory)
            let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
            #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == model.1)
            #expect(flipped.withLock { $0 })
            // The file once, then the bad piece alone.
            #expect(seed.log.requestedBytes == Int64(model.1.count) + Self.pieceSize)
            #expect(seed.log.pieces.last.map { $0.offset == 5 * Self.pieceSize && $0.length == Self.pieceSize } == true)
            // Several pieces went in one request.
            #expect(seed.log.pieces.count < PieceManifest.pieceCount(fileSize: model.0.sizeBytes, pieceSize: Self.pieceSize))
        }
    }

    @Test func aFailedRunCountsAsOneFailureOfItsPeer() async throws {
        let model = FakePeer.swarmModel()
        // The whole file is one run: its first two requests break off after 1,000 bytes.
        let seed = FakePeer.seed(model) { $0.number < 2 ? .dropAfter(bytes: 1000) : .honest }
        try await withTemporaryDirectory { directory in
            let outcome = try await SwarmPullTests.pull(model.0, from: [seed], in: directory)
            let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
            #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == model.1)
            #expect(seed.log.pieces.count == 3, "\(seed.log.pieces)")
        }
    }

    @Test func aPullAloneChecksItsPiecesOnceAnotherNodeAsksForThem() async throws {
        // 12 MiB: three runs of 4 MiB; the first two are slow, so the pull is still running
        // when the watcher has seen the first run on disk and asked for the offer. Read
        // through NIO: a spliced run would be the whole file (`splicedRunBytes`), one slow
        // request and then all of it at once, done before the watcher looks (it failed so
        // whenever the test ran alone; in a loaded full run it passed).
        let model = FakePeer.swarmModel(size: 192 * 64 * 1024 + 123)
        let pieceCount = PieceManifest.pieceCount(fileSize: model.0.sizeBytes, pieceSize: Self.pieceSize)
        let seed = FakePeer.seed(model) { $0.number < 2 ? .slow(seconds: 0.6) : .honest }
        let offers = PartialOffers()
        let sha256 = model.0.sha256
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            let seen = Seen()
            let outcome = try await withFakePeers([seed]) { urls in
                let request = PullHarness.request(model.0.modelID, from: [PullSource(baseURL: urls[0], nodeID: "seed")], into: store)
                var configuration = PullHarness.configuration(connections: 1)
                configuration.splicesRanges = false
                return try await HTTPClient.withHTTPClient(configuration: PullEngine.httpConfiguration(configuration)) { http in
                    let engine = PullEngine(
                        http: http, database: try StateDatabase(), configuration: configuration, logger: PullHarness.logger, partialOffers: offers)
                    let watcher = Task { try await Self.watch(engine.database, offers: offers, sha256: sha256, pieces: pieceCount, seen: seen) }
                    defer { watcher.cancel() }
                    return try await withDeadline(60) { [request] in await PullHarness.pull(engine, request) }
                }
            }
            let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
            #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == model.1)
            #expect(seen.state.withLock { $0.whileAlone } == 0, "pieces written unchecked are not offered")
            #expect(seen.state.withLock { $0.afterAsking } >= 2, "once asked, the pull checks and offers its pieces")
        }
    }

    final class Seen: Sendable {
        let state = Mutex<(whileAlone: Int?, afterAsking: Int)>((nil, 0))
    }

    /// Waits for pieces on disk, notes how many are offered (asking for the offer, as
    /// another node's request would), then notes the most offered until cancelled.
    static func watch(_ database: StateDatabase, offers: PartialOffers, sha256: String, pieces: Int, seen: Seen) async throws {
        while !Task.isCancelled {
            try await Task.sleep(for: .milliseconds(20))
            guard let record = try database.download(sha256: sha256), Bitfield(count: pieces, bytes: record.writtenPieces).setCount >= 2 else {
                continue
            }
            let held = offers.offer(sha256: sha256)?.held.setCount
            seen.state.withLock { $0.whileAlone = held }
            break
        }
        while !Task.isCancelled {
            try await Task.sleep(for: .milliseconds(20))
            let held = offers.offer(sha256: sha256)?.held.setCount ?? 0
            seen.state.withLock { $0.afterAsking = max($0.afterAsking, held) }
        }
    }
}
