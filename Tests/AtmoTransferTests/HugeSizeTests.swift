import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoTransfer

/// Sizes near 2^63 from a peer (issue 9, item 1): the arithmetic cannot trap, and a pull
/// from a peer that claims such a size fails with a clear error.
struct HugeSizeTests {
    @Test func pieceCountDoesNotOverflow() {
        #expect(PiecePlan.pieceCount(totalSize: .max, pieceSize: 2 * 1024 * 1024) == Int(Int64.max / (2 * 1024 * 1024) + 1))
        #expect(PiecePlan.pieceCount(totalSize: .max, pieceSize: .max) == 1)
        #expect(PiecePlan.pieceCount(totalSize: .max - 1, pieceSize: .max) == 1)
        #expect(PiecePlan.pieceCount(totalSize: 0, pieceSize: 64) == 0)
        #expect(PiecePlan.pieceCount(totalSize: -5, pieceSize: 64) == 0)
        #expect(PiecePlan.pieceCount(totalSize: 129, pieceSize: 64) == 3)
        #expect(PiecePlan.pieceCount(totalSize: 128, pieceSize: 64) == 2)
    }

    @Test func planOfAHugeFileHasExactRanges() {
        let plan = PiecePlan(totalSize: .max, pieceSize: 1 << 62, maxAhead: 2, maxAttempts: 1, retryBaseDelay: 0)
        #expect(plan.pieceCount == 2)
        #expect(plan.range(of: 0) == (0, 1 << 62))
        #expect(plan.range(of: 1) == (1 << 62, (1 << 62) - 1))
    }

    /// Before the bound this pull trapped ("arithmetic overflow") and took the process down.
    @Test func pullFromAPeerClaimingAnImpossibleSizeFailsCleanly() async throws {
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            let database = try StateDatabase()
            let bytes = Data(repeating: 7, count: 1000)
            let entry = ModelEntry(
                modelID: "huge-model", name: "Huge", type: "llm", format: "gguf", sizeBytes: .max, sha256: SHA256Hex.of(bytes))
            try await withFakePeer(FakePeer(entry: entry, bytes: bytes)) { url in
                try await PullHarness.withEngine(database: database) { engine in
                    let outcome = await PullHarness.pull(engine, PullHarness.request(entry.modelID, from: url, into: store))
                    let failure = try #require(outcome.failure)
                    #expect(failure.code == .protocolViolation)
                    #expect(failure.message.contains("size_bytes"), "\(failure.message)")
                    #expect(failure.message.contains("more than any disk holds"), "\(failure.message)")
                }
            }
            #expect(store.installed(modelID: entry.modelID) == nil)
            #expect(PullHarness.partials(in: store).isEmpty)
        }
    }
}
