import AtmoProtocol
import AtmoTesting
import Crypto
import Foundation
import Testing

@testable import AtmoStore

/// The `piece_manifest` table and the checks of `PieceManifest+Digest`.
struct PieceManifestStoreTests {
    let stat = FileIO.Stat(size: 100, modificationTimeNanos: 1_700_000_000_123_456_789, inode: 42, device: 7)
    let shaA = String(repeating: "a", count: 64)
    let shaB = String(repeating: "b", count: 64)
    let shaC = String(repeating: "c", count: 64)

    /// A manifest of 3 pieces of 64 KiB (the last one short) over made-up bytes.
    static func sampleManifest(seed: UInt32 = 1) -> (bytes: [UInt8], manifest: PieceManifest) {
        let bytes = PieceManifestHashTests.pattern(count: (2 << 16) + 500, seed: seed)
        var digester = PieceDigester(pieceSize: 1 << 16)
        bytes.withUnsafeBytes { digester.update($0) }
        return (bytes, digester.finish()!)
    }

    @Test("a stored manifest reads back equal, and its reference is listed")
    func roundTrip() throws {
        let database = try StateDatabase()
        let (_, manifest) = Self.sampleManifest()
        #expect(try database.manifest(sha256: shaA) == nil)
        try database.rememberManifest(sha256: shaA, manifest)
        #expect(try database.manifest(sha256: shaA) == manifest)
        #expect(try database.manifest(sha256: shaA.uppercased()) == manifest)
        let references = try database.manifestReferences()
        #expect(references.count == 1)
        #expect(references[shaA]?.pieceSize == 1 << 16)
        #expect(references[shaA]?.sha256 == manifest.manifestSHA256)
        // Storing again replaces.
        let (_, other) = Self.sampleManifest(seed: 2)
        try database.rememberManifest(sha256: shaA, other)
        #expect(try database.manifest(sha256: shaA) == other)
    }

    @Test("a manifest is kept while a remembered hash or a download names its file, dropped after")
    func forgetting() throws {
        let database = try StateDatabase()
        let (_, manifest) = Self.sampleManifest()
        try database.rememberHash(path: "/m/a.gguf", stat: stat, sha256: shaA)
        try database.saveDownload(
            DownloadRecord(
                entry: ModelEntry(modelID: "b", name: "B", type: "llm", format: "gguf", sizeBytes: 1000, sha256: shaB),
                pieceSize: 1 << 20, partialPath: "/tmp/b.partial", sourceURL: "http://127.0.0.1:1", durablePieces: [0],
                writtenPieces: [0], bootID: "boot"))
        for sha in [shaA, shaB, shaC] { try database.rememberManifest(sha256: sha, manifest) }
        #expect(try database.forgetUnusedManifests() == 1)
        #expect(try database.manifest(sha256: shaA) != nil)
        #expect(try database.manifest(sha256: shaB) != nil)
        #expect(try database.manifest(sha256: shaC) == nil)
        try database.forgetHashes(except: [])
        try database.deleteDownload(sha256: shaB)
        #expect(try database.forgetUnusedManifests() == 2)
        #expect(try database.manifestReferences().isEmpty)
    }

    @Test("a consumer checks a piece by digest and by bytes")
    func pieceMatches() {
        let (bytes, manifest) = Self.sampleManifest()
        let last = manifest.pieceCount - 1
        let lastRange = manifest.range(of: last)
        let lastBytes = Array(bytes[Int(lastRange.offset)...])
        #expect(manifest.matches(piece: last, digest: SHA256.hash(data: lastBytes)))
        #expect(!manifest.matches(piece: 0, digest: SHA256.hash(data: lastBytes)))
        #expect(!manifest.matches(piece: manifest.pieceCount, digest: SHA256.hash(data: lastBytes)))
        #expect(!manifest.matches(piece: -1, digest: SHA256.hash(data: lastBytes)))
        lastBytes.withUnsafeBytes { #expect(manifest.matches(piece: last, bytes: $0)) }
        var flipped = lastBytes
        flipped[17] ^= 0x01
        flipped.withUnsafeBytes { #expect(!manifest.matches(piece: last, bytes: $0)) }
        // A right digest of a wrong length (a short piece 0) is refused.
        Array(bytes[0..<100]).withUnsafeBytes { #expect(!manifest.matches(piece: 0, bytes: $0)) }
    }

    @Test("wire bytes are decoded only when count and SHA-256 match the entry")
    func decodeChecksTheEntry() throws {
        let (bytes, manifest) = Self.sampleManifest()
        let entry = ModelEntry(
            modelID: "m", name: "M", type: "llm", format: "gguf", sizeBytes: Int64(bytes.count), sha256: shaA,
            pieceSize: manifest.pieceSize, piecesSHA256: manifest.manifestSHA256)
        #expect(try PieceManifest.decode(manifest.digests, for: entry) == manifest)

        var lying = manifest.digests
        lying[40] ^= 0xff
        let mismatch = #expect(throws: WireError.self) { try PieceManifest.decode(lying, for: entry) }
        #expect(mismatch?.message.contains("pieces_sha256") == true)

        let short = #expect(throws: WireError.self) { try PieceManifest.decode(Array(manifest.digests.dropLast(32)), for: entry) }
        #expect(short?.message.contains("expected \(manifest.digests.count)") == true)

        var bare = entry
        bare.pieceSize = nil
        bare.piecesSHA256 = nil
        #expect(throws: WireError.self) { try PieceManifest.decode(manifest.digests, for: bare) }

        // The entry's size decides the count: a manifest for a smaller file does not fit.
        var bigger = entry
        bigger.sizeBytes += 1 << 16
        #expect(throws: WireError.self) { try PieceManifest.decode(manifest.digests, for: bigger) }
    }
}
