import AtmoTesting
import Foundation
import Testing

@testable import AtmoTransfer

/// A pull whose only source sends pieces that fail verification ends as a verification
/// failure (exit 5), not as a model nobody offers (exit 4) (hostile review dec07e, F4).
@Suite(.serialized)
struct SwarmBadSourceExitTests {
    @Test func theOnlySourceSendingBadPiecesIsAVerificationFailure() async throws {
        let model = FakePeer.swarmModel()
        // Every piece it sends has one byte flipped.
        let liar = FakePeer.seed(model) { .flipByte(at: $0.offset) }
        try await withTemporaryDirectory { directory in
            let outcome = try await SwarmPullTests.pull(model.0, from: [liar], in: directory)
            let error = try #require(outcome.failure, "the pull should fail")
            #expect(error.code == .hashMismatch, "\(error)")
            #expect(ErrorMapping.map(error).exitCode == ExitStatus.verification)
            #expect(error.message.contains("failed verification"), "\(error)")
            #expect(error.message.contains("another node"), "\(error)")
        }
    }
}
