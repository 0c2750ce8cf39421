import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoTransfer

/// What a single-file pull leaves in the store's `.atmo-partial/` once it ends, on real files
/// and a real fake peer: no `{model_id}.install.lock`, whether the install succeeded or failed.
struct SingleFileLeftoverTests {
    static func locks(in store: LocalModelStore) -> [String] {
        PullHarness.files(in: store).filter { $0.hasSuffix(".install.lock") }
    }

    @Test("a single-file pull that installs leaves no install lock")
    func anInstallLeavesNoLock() async throws {
        let (entry, bytes) = PullFailureTests.model(id: "single-lock", seed: 5, size: 300 * 1024)
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            let database = try StateDatabase()
            try await withFakePeer(FakePeer(entry: entry, bytes: bytes)) { url in
                try await PullHarness.withEngine(database: database) { engine in
                    _ = try await engine.pull(PullHarness.request(entry.modelID, from: url, into: store))
                }
            }
            #expect(store.installed(modelID: entry.modelID)?.sha256 == entry.sha256)
            #expect(Self.locks(in: store) == [], "\(PullHarness.files(in: store))")
        }
    }

    @Test("a single-file pull that fails at the install leaves no install lock either")
    func aFailedInstallLeavesNoLock() async throws {
        let (entry, bytes) = PullFailureTests.model(id: "single-lock", seed: 6, size: 300 * 1024)
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            let database = try StateDatabase()
            // A folder with a file in it where the model goes: the rename into place fails.
            let blocker = store.modelPath(for: entry)
            try FileManager.default.createDirectory(atPath: blocker, withIntermediateDirectories: true)
            try Data("x".utf8).write(to: URL(fileURLWithPath: blocker + "/keep"))
            try await withFakePeer(FakePeer(entry: entry, bytes: bytes)) { url in
                try await PullHarness.withEngine(database: database) { engine in
                    let outcome = await PullHarness.pull(engine, PullHarness.request(entry.modelID, from: url, into: store))
                    let failure = try #require(outcome.failure)
                    #expect(failure.message.contains("the verified download is kept"), "\(failure.message)")
                }
            }
            #expect(store.installed(modelID: entry.modelID) == nil)
            #expect(Self.locks(in: store) == [], "\(PullHarness.files(in: store))")
        }
    }
}
