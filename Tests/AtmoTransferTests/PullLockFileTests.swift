import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoTransfer

/// A pull leaves no `<sha>.lock` in `.atmo-partial` when it ends with no partial to resume:
/// one that failed its hash check (the partial discarded) left its lock file for ever, one
/// per bad file a peer offered (hostile dec07h F9).
@Suite(.serialized)
struct PullLockFileTests {
    @Test("a pull whose bytes fail the hash check leaves no lock file")
    func aHashMismatchLeavesNoLockFile() async throws {
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            let database = try StateDatabase()
            let (entry, bytes) = PullFailureTests.model(seed: 2)
            let liar = FakePeer(entry: entry, bytes: bytes) { _ in .flipByte(at: Int64(PullFailureTests.size / 2)) }
            try await withFakePeer(liar) { url in
                try await PullHarness.withEngine(database: database) { engine in
                    let outcome = await PullHarness.pull(engine, PullHarness.request(entry.modelID, from: url, into: store))
                    #expect(outcome.failure?.code == .hashMismatch)
                }
            }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: store.partialDirectory)) ?? []
            #expect(names.filter { $0.hasSuffix(".lock") } == [], "\(names)")
            #expect(PullHarness.partials(in: store).isEmpty)
        }
    }
}
