#if os(Linux)
import AsyncHTTPClient
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Logging
import Testing

@testable import AtmoTransfer

/// A `416` on the splice path goes to NIO (`Unspliceable`), whose path reads the answer's
/// JSON body: a peer that does not hold the range yet (`not_held`) is asked again later, not
/// dropped as a peer that broke the protocol (hostile review dec07f S7).
@Suite(.serialized)
struct SplicedRangeConnectionHandOverTests {
    @Test func a416IsHandedToNIOWhichReadsItsNotHeldCodeAndTheFileIsUntouched() async throws {
        let piece: Int64 = 64 * 1024
        let model = FakePeer.swarmModel(size: 8 * Int(piece), pieceSize: piece)
        // A peer that turned out to lack piece 2: its ranges over it are refused with 416
        // and `{"code":"not_held"}`.
        var have = Bitfield(count: 8)
        for index in 0..<8 where index != 2 { have[index] = true }
        let peer = {
            var peer = FakePeer.seed(model)
            peer.partial = (have, piece)
            return peer
        }()
        try await withFakePeer(peer) { url in
            let connection = try #require(SplicedRangeConnection(baseURL: url, connectTimeout: 5, stallTimeout: 30, floor: nil))
            defer { connection.close() }
            let outcome = try await withDeadline(30) { try await SplicedRangeConnectionTests.fetch(model.0, over: connection, offset: 0) }
            guard case .failure(let error) = outcome.result else {
                Issue.record("a 416 was taken for the range")
                return
            }
            #expect(error is SplicedRangeConnection.Unspliceable, "\(error)")
            #expect(outcome.finished.isEmpty)
            #expect(outcome.file == Data(count: model.1.count), "the 416's body went into the file")
            // What the pull's worker does with `Unspliceable`: the same range through NIO.
            let client = PeerClient(baseURL: url, http: HTTPClient.shared, logger: Logger(label: "hand-over-test"))
            do {
                _ = try await withDeadline(30) {
                    try await client.fetchChunks(of: model.0, offset: 0, length: 4 * piece, received: { _ in })
                }
                Issue.record("NIO took the 416 for the range")
            } catch let failure as TransferError {
                #expect(failure.code == .notHeld, "\(failure)")
            }
            // Both asked for the range: the splice path did not retry it.
            #expect(peer.log.pieces.count == 2, "\(peer.log.pieces)")
        }
    }
}
#endif
