import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

@testable import AtmoStore

/// The version an install replaces is kept for rollback (`.atmo-previous/`), counts against
/// the storage limit and may be evicted like any pulled model; `rollBack` swaps the two.
struct PreviousVersionTests {
    func entry(_ sha256: String, version: String) -> ModelEntry {
        ModelEntry(
            modelID: "yolo", name: "YOLO", type: "vision", format: "pt", sizeBytes: 4096, sha256: sha256, version: version, source: "test",
            sourceRef: "local")
    }

    /// Installs a new 4 KiB file of `seed` as version `version` of yolo; returns its SHA-256.
    @discardableResult
    func install(_ seed: UInt64, version: String, into store: LocalModelStore, root: TemporaryDirectory) throws -> String {
        let sha = try ModelFixtures.writeModel(at: root.sub("download-\(seed)"), size: 4096, seed: seed)
        let partial = store.partialPath(sha256: sha)
        try FileManager.default.moveItem(atPath: root.sub("download-\(seed)"), toPath: partial)
        _ = try store.install(partialPath: partial, entry: entry(sha, version: version), downloadedFrom: "test")
        return sha
    }

    @Test func theNodesStoreKeepsTheReplacedVersionAndRollsBack() async throws {
        try await withTemporaryDirectory { root in
            let store = LocalModelStore(directory: root.sub("models")).keepingPreviousVersions()
            try store.prepare()
            let first = try install(1, version: "1.0", into: store, root: root)
            #expect(store.previousVersion(of: "yolo") == nil)
            let second = try install(2, version: "1.1", into: store, root: root)
            #expect(store.installed(modelID: "yolo")?.sha256 == second)
            #expect(try ModelFixtures.sha256(of: store.filePath(of: store.installed(modelID: "yolo")!)) == second)
            let kept = try #require(store.previousVersion(of: "yolo"))
            #expect(kept.sha256 == first && kept.version == "1.0")
            #expect(try ModelFixtures.sha256(of: store.previousVersions.filePath(of: kept)) == first)
            // Not a model of the store's folder (the scanner reads sidecars at its top only).
            #expect(store.installed().map(\.modelID) == ["yolo"])

            let (restored, replaced) = try store.rollBack(modelID: "yolo")
            #expect(restored.sha256 == first && replaced?.sha256 == second)
            #expect(try ModelFixtures.sha256(of: store.filePath(of: store.installed(modelID: "yolo")!)) == first)
            #expect(store.previousVersion(of: "yolo")?.sha256 == second)
            // A second rollback undoes the first.
            try store.rollBack(modelID: "yolo")
            #expect(try ModelFixtures.sha256(of: store.filePath(of: store.installed(modelID: "yolo")!)) == second)
            #expect(store.previousVersion(of: "yolo")?.sha256 == first)

            // A third version replaces the kept one: one previous version per id.
            let third = try install(3, version: "1.2", into: store, root: root)
            #expect(store.installed(modelID: "yolo")?.sha256 == third)
            #expect(store.previousVersion(of: "yolo")?.sha256 == second)
            let names = try FileManager.default.contentsOfDirectory(atPath: store.previousDirectory).sorted()
            #expect(names == ["yolo.json", "yolo.pt"], "\(names)")
        }
    }

    @Test func aStoreThatDoesNotKeepVersionsReplacesInPlace() async throws {
        try await withTemporaryDirectory { root in
            let store = LocalModelStore(directory: root.sub("models"))
            try store.prepare()
            try install(1, version: "1.0", into: store, root: root)
            try install(2, version: "1.1", into: store, root: root)
            #expect(store.previousVersion(of: "yolo") == nil)
            #expect(throws: StoreError.self) { try store.rollBack(modelID: "yolo") }
        }
    }

    @Test func thePreviousVersionIsEvictableEvenAsTheMeshsLastCopyAndCounts() async throws {
        try await withTemporaryDirectory { root in
            let store = LocalModelStore(directory: root.sub("models")).keepingPreviousVersions()
            try store.prepare()
            let first = try install(1, version: "1.0", into: store, root: root)
            let second = try install(2, version: "1.1", into: store, root: root)
            let database = try StateDatabase()
            try database.pin(modelID: "yolo")
            let snapshot = try StorageSnapshot.read(store: store, database: database, usage: nil, meshCopies: [:])
            #expect(snapshot.models.count == 2)
            let previous = try #require(snapshot.models.first { $0.sha256 == first })
            #expect(!previous.offered && !previous.pinned && previous.sizeBytes == 4096)
            let input = StoragePlanner.Input(
                models: snapshot.models, partialBytes: 0, limitBytes: 8192, freeBytes: 1 << 30, neededBytes: 4096)
            #expect(input.usedBytes == 8192)
            // The pinned current version stays; the previous one makes room.
            #expect(StoragePlanner.plan(input) == .fits(evict: [previous]))
            #expect(try store.evict(modelID: "yolo", sha256: first))
            #expect(store.previousVersion(of: "yolo") == nil)
            #expect(store.installed(modelID: "yolo")?.sha256 == second)
            #expect(try !store.evict(modelID: "yolo", sha256: first))
        }
    }

    @Test func followsSightingsAndPreviousRecordsPersist() throws {
        let database = try StateDatabase()
        try database.follow(modelID: "yolo", mode: "auto")
        try database.follow(modelID: "yolo", mode: "prompt")
        try database.setDeclined(modelID: "yolo", sha256: String(repeating: "A", count: 64), true)
        #expect(
            try database.follows() == [
                FollowRecord(
                    modelID: "yolo", mode: "prompt", declined: [String(repeating: "a", count: 64)],
                    followedAt: try database.follows()[0].followedAt)
            ])
        for index in 0..<100 {
            try database.recordSightings([
                VersionSighting(modelID: "yolo", sha256: String(format: "%064x", index), firstSeenMs: Int64(index))
            ])
        }
        let sightings = try database.versionSightings()
        #expect(sightings.count == StateDatabase.maxSightingsPerModel)
        #expect(sightings.map(\.firstSeenMs).min() == Int64(100 - StateDatabase.maxSightingsPerModel))
        try database.recordPrevious(
            PreviousVersionRecord(modelID: "yolo", sha256: "AB", version: "1.0", replacedBy: "CD", keptAt: 1))
        #expect(try database.previousVersions()["yolo"]?.sha256 == "ab")
        #expect(try database.unfollow(modelID: "yolo"))
        #expect(try database.versionSightings().isEmpty)
        #expect(try !database.unfollow(modelID: "yolo"))
    }
}
