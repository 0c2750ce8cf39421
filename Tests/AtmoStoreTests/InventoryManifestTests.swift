import AtmoProtocol
import AtmoTesting
import Crypto
import Foundation
import Logging
import Testing

@testable import AtmoStore

/// Entries name their piece manifest once it is known: from the first hash of a new file,
/// from the verifying read of an LFS blob, or computed later for a file hashed before
/// manifests existed.
struct InventoryManifestTests {
    let logger = Logger(label: "atmo.test", factory: { _ in SwiftLogNoOpLogHandler() })

    func inventory(_ fixture: ScanFixture, database: StateDatabase) -> Inventory {
        Inventory(
            roots: ScanRoots(huggingFaceHub: fixture.url("hub"), extraFolders: [fixture.url("extra")]),
            database: database, logger: logger)
    }

    /// The manifest of `bytes` at the node's piece size, computed here piece by piece.
    static func expectedManifest(_ bytes: [UInt8]) -> PieceManifest {
        let pieceSize = PieceManifest.pieceSize(forFileSize: Int64(bytes.count))
        return PieceManifest(
            fileSize: Int64(bytes.count), pieceSize: pieceSize,
            digests: PieceManifestHashTests.expectedDigests(bytes, pieceSize: Int(pieceSize)))!
    }

    @Test("a newly hashed file is advertised with its manifest, stored and readable by SHA-256")
    func newFileGainsManifest() async throws {
        let fixture = try ScanFixture()
        defer { fixture.remove() }
        let bytes = MagicBytes.gguf(padding: 3 << 20)
        try fixture.file("extra/tiny.gguf", bytes)
        let database = try StateDatabase()
        let inventory = inventory(fixture, database: database)
        try await inventory.refresh()
        let entry = try #require(inventory.entries.first)
        let expected = Self.expectedManifest(bytes)
        #expect(entry.pieceSize == expected.pieceSize)
        #expect(entry.piecesSHA256 == expected.manifestSHA256)
        #expect(try database.manifest(sha256: entry.sha256) == expected)
        #expect(try await inventory.manifest(sha256: entry.sha256) == expected)
        #expect(try await inventory.manifest(sha256: entry.sha256.uppercased()) == expected)
        // Cached for the next request; still right.
        #expect(try await inventory.manifest(sha256: entry.sha256) == expected)
        #expect(try await inventory.manifest(sha256: String(repeating: "0", count: 64)) == nil)
        // The wire form of the entry carries the fields.
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(entry)) as? [String: Any]
        #expect(json?["pieces_sha256"] as? String == expected.manifestSHA256)
        #expect((json?["piece_size"] as? NSNumber)?.int64Value == expected.pieceSize)
    }

    @Test("a file whose hash is cached without a manifest gets one on the next scan, hash unchanged")
    func cachedHashGainsManifest() async throws {
        let fixture = try ScanFixture()
        defer { fixture.remove() }
        let bytes = MagicBytes.gguf(padding: 70_000)
        let path = try fixture.file("extra/old.gguf", bytes).resolvingSymlinksInPath().path
        let database = try StateDatabase()
        // As a version before manifests left it: the hash cached, no manifest.
        let sha256 = SHA256.hash(data: bytes).hexString
        try database.rememberHash(path: path, stat: FileIO.stat(path), sha256: sha256)
        let inventory = inventory(fixture, database: database)
        try await inventory.refresh()
        let entry = try #require(inventory.entries.first)
        #expect(entry.sha256 == sha256)
        #expect(entry.piecesSHA256 == Self.expectedManifest(bytes).manifestSHA256)
        #expect(try database.manifest(sha256: sha256) == Self.expectedManifest(bytes))
        // Steady afterwards: nothing changes on a rescan.
        let generation = inventory.generation
        try await inventory.refresh()
        #expect(inventory.generation == generation)
    }

    @Test("an entry advertised before its manifest is known has no manifest fields yet")
    func fieldsJoinLater() async throws {
        let fixture = try ScanFixture()
        defer { fixture.remove() }
        let bytes = MagicBytes.gguf(padding: 2000)
        let blob = SHA256.hash(data: bytes).hexString
        try fixture.hfFile(repo: "models--org--tiny-GGUF", commit: "c0ffee", path: "tiny-Q4.gguf", blob: blob, bytes)
        let database = try StateDatabase()
        let inventory = inventory(fixture, database: database)
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await inventory.refresh()
        }
        _ = await early.result
        let listed = try #require(inventory.entries.first)
        #expect(listed.sha256 == blob && listed.pieceSize == nil && listed.piecesSHA256 == nil)
        #expect(try await inventory.manifest(sha256: blob) == nil)
        // The verifying read brings the manifest.
        try await inventory.refresh()
        let verified = try #require(inventory.entries.first)
        #expect(verified.piecesSHA256 == Self.expectedManifest(bytes).manifestSHA256)
        #expect(try await inventory.manifest(sha256: blob) == Self.expectedManifest(bytes))
    }

    @Test("the manifest of a removed file is forgotten by the rescan")
    func removedFileManifestForgotten() async throws {
        let fixture = try ScanFixture()
        defer { fixture.remove() }
        let url = try fixture.file("extra/gone.gguf", MagicBytes.gguf(padding: 100))
        let database = try StateDatabase()
        let inventory = inventory(fixture, database: database)
        try await inventory.refresh()
        let sha256 = try #require(inventory.entries.first?.sha256)
        #expect(try database.manifest(sha256: sha256) != nil)
        try FileManager.default.removeItem(at: url)
        try await inventory.refresh()
        #expect(inventory.entries.isEmpty)
        #expect(try database.manifest(sha256: sha256) == nil)
    }
}
