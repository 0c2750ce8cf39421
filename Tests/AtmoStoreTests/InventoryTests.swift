import AtmoProtocol
import AtmoTesting
import Crypto
import Foundation
import Logging
import Testing

@testable import AtmoStore

struct InventoryTests {
    let logger = Logger(label: "atmo.test", factory: { _ in SwiftLogNoOpLogHandler() })

    func inventory(_ fixture: ScanFixture, database: StateDatabase) -> Inventory {
        Inventory(
            roots: ScanRoots(huggingFaceHub: fixture.url("hub"), extraFolders: [fixture.url("extra")]),
            database: database, logger: logger)
    }

    /// Runs `refresh()` in a task that is cancelled before it starts hashing: what it
    /// publishes is what a node advertises before any hash is computed.
    func refreshWithoutHashing(_ inventory: Inventory) async {
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await inventory.refresh()
        }
        _ = await task.result
    }

    func sha256(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).hexString }

    @Test func newFileIsHashedAndAdvertised() async throws {
        let fixture = try ScanFixture()
        defer { fixture.remove() }
        let bytes = MagicBytes.gguf(padding: 5000)
        try fixture.file("extra/tiny.gguf", bytes)
        let database = try StateDatabase()
        let inventory = inventory(fixture, database: database)
        #expect(inventory.entries.isEmpty && inventory.completedScans == 0)
        let before = inventory.generation
        try await inventory.refresh()
        #expect(inventory.completedScans == 1)
        #expect(inventory.pendingHashCount == 0)
        #expect(inventory.generation != before)
        let entry = try #require(inventory.entries.first)
        #expect(inventory.entries.count == 1)
        #expect(entry.modelID == "tiny.gguf")
        #expect(entry.sha256 == sha256(bytes))
        #expect(entry.sizeBytes == Int64(bytes.count))
        #expect(entry.format == "gguf")
        let item = try #require(inventory.item(modelID: "tiny.gguf"))
        #expect(item.path == fixture.url("extra/tiny.gguf").resolvingSymlinksInPath().path)
        // The hash is remembered for the next start.
        #expect(try database.cachedHash(path: item.path, stat: FileIO.stat(item.path)) == sha256(bytes))
    }

    @Test func unchangedFileIsNotHashedAgain() async throws {
        let fixture = try ScanFixture()
        defer { fixture.remove() }
        try fixture.file("extra/tiny.gguf", MagicBytes.gguf(padding: 100))
        let database = try StateDatabase()
        let inventory = inventory(fixture, database: database)
        try await inventory.refresh()
        let item = try #require(inventory.item(modelID: "tiny.gguf"))
        // Replace the remembered hash with a marker: a second refresh that re-hashed the
        // file would put the real hash back.
        let marker = String(repeating: "f", count: 64)
        try database.rememberHash(path: item.path, stat: item.stat, sha256: marker)
        // With a manifest under the marker too: a cached hash without one is read again
        // once, for its manifest (Inventory+Manifests).
        try database.rememberManifest(sha256: marker, try #require(try database.manifest(sha256: item.entry.sha256)))
        let generation = inventory.generation
        try await inventory.refresh()
        #expect(inventory.item(modelID: "tiny.gguf")?.entry.sha256 == marker)
        #expect(inventory.completedScans == 2)
        #expect(inventory.generation != generation)  // the entry changed (to the marker)
        // And a third refresh with nothing changed leaves the generation alone.
        let steady = inventory.generation
        try await inventory.refresh()
        #expect(inventory.generation == steady)
        // A new inventory on the same database (a restart) also trusts the cache.
        let restarted = self.inventory(fixture, database: database)
        try await restarted.refresh()
        #expect(restarted.item(modelID: "tiny.gguf")?.entry.sha256 == marker)
    }

    @Test func changedFileIsHashedAgain() async throws {
        let fixture = try ScanFixture()
        defer { fixture.remove() }
        let first = MagicBytes.gguf(padding: 100)
        try fixture.file("extra/tiny.gguf", first)
        let inventory = inventory(fixture, database: try StateDatabase())
        try await inventory.refresh()
        #expect(inventory.item(modelID: "tiny.gguf")?.entry.sha256 == sha256(first))
        // Same size, other bytes, other mtime.
        var second = first
        second[second.count - 1] ^= 0xFF
        try fixture.file("extra/tiny.gguf", second, modified: Date(timeIntervalSinceNow: 10))
        try await inventory.refresh()
        #expect(inventory.item(modelID: "tiny.gguf")?.entry.sha256 == sha256(second))
        // Other size.
        let third = MagicBytes.gguf(padding: 300)
        try fixture.file("extra/tiny.gguf", third)
        try await inventory.refresh()
        #expect(inventory.item(modelID: "tiny.gguf")?.entry.sha256 == sha256(third))
        #expect(inventory.item(modelID: "tiny.gguf")?.entry.sizeBytes == Int64(third.count))
    }

    @Test func removedFileIsWithdrawnAndForgotten() async throws {
        let fixture = try ScanFixture()
        defer { fixture.remove() }
        try fixture.file("extra/a.gguf", MagicBytes.gguf(padding: 10))
        try fixture.file("extra/b.gguf", MagicBytes.gguf(padding: 20))
        let database = try StateDatabase()
        let inventory = inventory(fixture, database: database)
        try await inventory.refresh()
        #expect(inventory.entries.map(\.modelID) == ["a.gguf", "b.gguf"])
        let removedPath = try #require(inventory.item(modelID: "a.gguf")).path
        try FileManager.default.removeItem(at: fixture.url("extra/a.gguf"))
        let generation = inventory.generation
        try await inventory.refresh()
        #expect(inventory.entries.map(\.modelID) == ["b.gguf"])
        #expect(inventory.item(modelID: "a.gguf") == nil)
        #expect(inventory.generation != generation)
        #expect(try database.allCachedHashes()[removedPath] == nil)
    }

    @Test func unhashedFilesAreNotAdvertisedYet() async throws {
        let fixture = try ScanFixture()
        defer { fixture.remove() }
        try fixture.file("extra/a.gguf", MagicBytes.gguf(padding: 10))
        try fixture.file("extra/b.gguf", MagicBytes.gguf(padding: 20))
        let inventory = inventory(fixture, database: try StateDatabase())
        await refreshWithoutHashing(inventory)
        #expect(inventory.entries.isEmpty)
        #expect(inventory.pendingHashCount == 2)
        #expect(inventory.completedScans == 0)
        try await inventory.refresh()
        #expect(inventory.pendingHashCount == 0)
        #expect(inventory.entries.count == 2)
    }

    @Test func huggingFaceBlobIsAdvertisedAtOnceAndKeptWhenItMatches() async throws {
        let fixture = try ScanFixture()
        defer { fixture.remove() }
        let bytes = MagicBytes.gguf(padding: 2000)
        let blob = sha256(bytes)
        try fixture.hfFile(repo: "models--org--tiny-GGUF", commit: "c0ffee", path: "tiny-Q4.gguf", blob: blob, bytes)
        let database = try StateDatabase()
        let inventory = inventory(fixture, database: database)
        await refreshWithoutHashing(inventory)
        // Advertised from its blob name before any hashing.
        let early = try #require(inventory.entries.first)
        #expect(early.sha256 == blob)
        #expect(early.source == "huggingface")
        #expect(try database.allCachedHashes().isEmpty)
        // The full refresh verifies it and keeps it.
        try await inventory.refresh()
        #expect(inventory.entries.map(\.sha256) == [blob])
        #expect(try database.allCachedHashes().values.map(\.sha256) == [blob])
    }

    @Test func huggingFaceBlobThatDoesNotMatchItsNameIsWithdrawn() async throws {
        let fixture = try ScanFixture()
        defer { fixture.remove() }
        let bytes = MagicBytes.gguf(padding: 2000)
        let claimed = String(repeating: "9", count: 64)
        try fixture.hfFile(repo: "models--org--tiny-GGUF", commit: "c0ffee", path: "tiny-Q4.gguf", blob: claimed, bytes)
        try fixture.file("extra/other.gguf", MagicBytes.gguf(padding: 10))
        let inventory = inventory(fixture, database: try StateDatabase())
        await refreshWithoutHashing(inventory)
        #expect(inventory.entries.map(\.sha256) == [claimed])
        try await inventory.refresh()
        // Withdrawn after the check; the other model stays.
        #expect(!inventory.entries.contains { $0.sha256 == claimed })
        #expect(inventory.entries.map(\.modelID) == ["other.gguf"])
        // Not offered again on later scans either (the cache knows the real hash).
        try await inventory.refresh()
        #expect(!inventory.entries.contains { $0.sha256 == claimed || $0.source == "huggingface" })
    }
}
