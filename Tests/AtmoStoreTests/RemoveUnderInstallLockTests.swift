import AtmoProtocol
import AtmoTesting
import Foundation
import Synchronization
import Testing

@testable import AtmoStore

/// `atmo rm` (`removeUnderInstallLock`) waits for an install of the same id instead of
/// removing the file and sidecar half-way through it, and leaves no lock file.
struct RemoveUnderInstallLockTests {
    @Test func aRemovalWaitsForTheIdsInstallLockAndLeavesNoLockFile() async throws {
        try await withTemporaryDirectory { root in
            let store = LocalModelStore(directory: root.sub("models"))
            try store.prepare()
            let sha = try ModelFixtures.writeModel(at: root.sub("download"), size: 4096, seed: 3)
            let partial = store.partialPath(sha256: sha)
            try FileManager.default.moveItem(atPath: root.sub("download"), toPath: partial)
            let entry = ModelEntry(
                modelID: "yolo", name: "YOLO", type: "vision", format: "pt", sizeBytes: 4096, sha256: sha, version: "1", source: "test",
                sourceRef: "local")
            _ = try store.install(partialPath: partial, entry: entry, downloadedFrom: "test")

            // Another holder of yolo's install lock (an install, a rollback) for a while.
            let events = Mutex<[String]>([])
            let holding = DispatchSemaphore(value: 0)
            let holder = Thread {
                try? store.withInstallLock(modelID: "yolo") { () throws(StoreError) in
                    holding.signal()
                    Thread.sleep(forTimeInterval: 0.3)
                    events.withLock { $0.append("holder done") }
                }
            }
            holder.start()
            holding.wait()
            try store.removeUnderInstallLock(modelID: "yolo")
            events.withLock { $0.append("removed") }
            #expect(events.withLock { $0 } == ["holder done", "removed"])
            #expect(store.installed(modelID: "yolo") == nil)
            let locks = (try? FileManager.default.contentsOfDirectory(atPath: store.partialDirectory))?.filter { $0.hasSuffix(".lock") }
            #expect(locks ?? [] == [])
        }
    }

    @Test func anIDThatIsNotInstalledOrNotAnIDIsNotFoundAndTouchesNothing() async throws {
        try await withTemporaryDirectory { root in
            let store = LocalModelStore(directory: root.sub("models"))
            for id in ["absent", "../etc"] {
                #expect(throws: StoreError.self) { try store.removeUnderInstallLock(modelID: id) }
            }
            #expect(!FileManager.default.fileExists(atPath: store.partialDirectory))
        }
    }
}
