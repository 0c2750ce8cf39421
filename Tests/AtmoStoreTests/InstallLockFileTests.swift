import AtmoProtocol
import AtmoTesting
import Foundation
import Synchronization
import Testing

@testable import AtmoStore

/// Every store path that takes a model's install lock leaves no
/// `.atmo-partial/{model_id}.install.lock` once it ends, on success and on failure (direct
/// install, removal by `evict`, keeping and rolling back previous versions, finishing an
/// interrupted install), and the lock still lets one holder in at a time while its file
/// comes and goes. Real files, real threads.
struct InstallLockFileTests {
    func entry(_ sha256: String, size: Int64 = 4096, version: String = "1") -> ModelEntry {
        ModelEntry(
            modelID: "yolo", name: "YOLO", type: "vision", format: "pt", sizeBytes: size, sha256: sha256, version: version,
            source: "test", sourceRef: "local")
    }

    static func locks(in store: LocalModelStore) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: store.partialDirectory)) ?? []).filter { $0.hasSuffix(".install.lock") }
            .sorted()
    }

    /// Installs a new 4 KiB file of `seed` as version `version` of yolo; returns its SHA-256.
    @discardableResult
    func install(_ seed: UInt64, version: String = "1", into store: LocalModelStore, root: TemporaryDirectory) throws -> String {
        let sha = try ModelFixtures.writeModel(at: root.sub("download-\(seed)"), size: 4096, seed: seed)
        let partial = store.partialPath(sha256: sha)
        try FileManager.default.moveItem(atPath: root.sub("download-\(seed)"), toPath: partial)
        _ = try store.install(partialPath: partial, entry: entry(sha, version: version), downloadedFrom: "test")
        return sha
    }

    @Test("a direct install leaves no install lock, installed or failed")
    func aDirectInstallLeavesNoLock() async throws {
        try await withTemporaryDirectory { root in
            let store = LocalModelStore(directory: root.sub("models"))
            try store.prepare()
            let sha = try install(1, into: store, root: root)
            #expect(store.installed(modelID: "yolo")?.sha256 == sha)
            #expect(Self.locks(in: store) == [])

            // A folder with a file in it where the model goes: the rename into place fails.
            let other = try ModelFixtures.writeModel(at: store.partialPath(sha256: "x"), size: 4096, seed: 2)
            let partial = store.partialPath(sha256: other)
            try FileIO.rename(store.partialPath(sha256: "x"), partial)
            var blocked = entry(other)
            blocked.modelID = "blocked"
            try FileManager.default.createDirectory(atPath: store.modelPath(for: blocked), withIntermediateDirectories: true)
            try Data("x".utf8).write(to: URL(fileURLWithPath: store.modelPath(for: blocked) + "/keep"))
            #expect(throws: StoreError.self) { try store.install(partialPath: partial, entry: blocked, downloadedFrom: "test") }
            #expect(FileManager.default.fileExists(atPath: partial), "the verified partial stays")
            #expect(Self.locks(in: store) == [])
        }
    }

    @Test("removing a model under its install lock (evict) leaves no install lock, removed or not")
    func aRemovalLeavesNoLock() async throws {
        try await withTemporaryDirectory { root in
            let store = LocalModelStore(directory: root.sub("models"))
            try store.prepare()
            let sha = try install(1, into: store, root: root)
            #expect(try !store.evict(modelID: "yolo", sha256: String(repeating: "f", count: 64)), "another version stays")
            #expect(Self.locks(in: store) == [])
            #expect(try store.evict(modelID: "yolo", sha256: sha))
            #expect(store.installed(modelID: "yolo") == nil)
            #expect(Self.locks(in: store) == [])
            #expect(try !store.evict(modelID: "yolo", sha256: sha), "gone already")
            #expect(Self.locks(in: store) == [])
        }
    }

    @Test("keeping, rolling back and evicting previous versions leaves no install lock")
    func previousVersionsLeaveNoLock() async throws {
        try await withTemporaryDirectory { root in
            let store = LocalModelStore(directory: root.sub("models")).keepingPreviousVersions()
            try store.prepare()
            #expect(throws: StoreError.self) { try store.rollBack(modelID: "yolo") }
            #expect(Self.locks(in: store) == [], "a refused rollback")
            let first = try install(1, version: "1.0", into: store, root: root)
            try install(2, version: "1.1", into: store, root: root)
            #expect(store.previousVersion(of: "yolo")?.sha256 == first)
            #expect(Self.locks(in: store) == [], "an install that kept the previous version")
            try store.rollBack(modelID: "yolo")
            #expect(store.installed(modelID: "yolo")?.sha256 == first)
            #expect(Self.locks(in: store) == [], "a rollback")
            let kept = try #require(store.previousVersion(of: "yolo"))
            #expect(try store.evict(modelID: "yolo", sha256: kept.sha256))
            #expect(store.previousVersion(of: "yolo") == nil)
            #expect(Self.locks(in: store) == [], "an evicted previous version")
            #expect(Self.locks(in: store.previousVersions) == [])
        }
    }

    @Test("finishing or dropping an interrupted install leaves no install lock")
    func finishingAnInterruptedInstallLeavesNoLock() throws {
        try withTemporaryDirectorySync { root in
            let store = LocalModelStore(directory: root + "/models")
            try store.prepare()
            let sha = String(repeating: "b", count: 64)
            let entry = entry(sha)
            // Staged, then the crash after step 2: finished.
            try store.stageSidecar(for: entry)
            try Data(count: 4096).write(to: URL(fileURLWithPath: store.modelPath(for: entry)))
            #expect(store.finishInterruptedInstalls() == ["yolo"])
            #expect(Self.locks(in: store) == [])
            // Staged over a file of another size: dropped.
            try store.stageSidecar(for: entry)
            try Data(count: 100).write(to: URL(fileURLWithPath: store.modelPath(for: entry)))
            #expect(store.finishInterruptedInstalls().isEmpty)
            #expect(Self.locks(in: store) == [])
        }
    }

    @Test("many holders of one id's install lock, its file removed as each leaves: never two inside")
    func holdersStayApartWhileTheFileComesAndGoes() async throws {
        try await withTemporaryDirectory { root in
            let store = LocalModelStore(directory: root.sub("models"))
            try store.prepare()
            let counters = Counters()
            let (workers, rounds) = (8, 100)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<workers {
                    group.addTask {
                        try await BlockingIO.run {
                            for round in 0..<rounds {
                                try store.withInstallLock(modelID: "yolo") { () throws(StoreError) in
                                    if counters.inside.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue != 1 {
                                        counters.overlaps.wrappingAdd(1, ordering: .relaxed)
                                    }
                                    counters.entries.wrappingAdd(1, ordering: .relaxed)
                                    usleep(UInt32(20 + (worker * 37 + round * 11) % 150))
                                    counters.inside.wrappingSubtract(1, ordering: .sequentiallyConsistent)
                                }
                                // A pull's tidier too, now and then (`removeInstallLock`).
                                if round % 7 == worker % 7 { store.removeInstallLock(modelID: "yolo") }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(counters.entries.load(ordering: .relaxed) == workers * rounds)
            #expect(counters.overlaps.load(ordering: .relaxed) == 0, "two holders were inside at once")
            #expect(Self.locks(in: store) == [], "the last holder removed it")
        }
    }

    final class Counters: Sendable {
        let inside = Atomic<Int>(0)
        let overlaps = Atomic<Int>(0)
        let entries = Atomic<Int>(0)
    }
}
