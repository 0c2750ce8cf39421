import AtmoProtocol
import AtmoTesting
import AtmoTransfer
import Foundation
import Testing

@testable import AtmoNode

/// A body served from a partial file lives as long as the offer of that file (issue 10): the
/// pull of another file beginning or ending does not cut it; the end of its own pull, or the
/// same file's pull begun anew, does.
struct PartialOfferLifeTests {
    /// A partial file of `pieces` MiB, every piece held, offered as `id` with SHA-256 `sha`.
    static func offer(
        _ offers: PartialOffers, id: String, sha: Character, pieces: Int, in directory: String
    ) throws -> (sha256: String, path: String) {
        let size = Int64(pieces) << 20
        let path = directory + "/" + id + ".part"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(size))
        try handle.close()
        let sha256 = String(repeating: sha, count: 64)
        let entry = ModelEntry(
            modelID: id, name: id, type: "llm", format: "gguf", sizeBytes: size, sha256: sha256, pieceSize: 1 << 20,
            piecesSHA256: String(repeating: "e", count: 64))
        let manifest = try #require(PieceManifest(fileSize: size, pieceSize: 1 << 20, digests: [UInt8](repeating: 0, count: pieces * 32)))
        var held = Bitfield(count: pieces)
        for index in 0..<pieces { held[index] = true }
        offers.begin(entry: entry, manifest: manifest, partialPath: path, held: held)
        return (sha256, path)
    }

    @Test func onlyTheEndOrRestartOfItsOwnOfferEndsAnOpenPartialFile() throws {
        let directory = try TemporaryDirectory(prefix: "atmo-offer-life")
        defer { directory.remove() }
        let offers = PartialOffers()
        let x = try Self.offer(offers, id: "x.gguf", sha: "a", pieces: 2, in: directory.path)
        let file = try OpenPartialFile(offers: offers, sha256: x.sha256, offset: 0, length: 2 << 20)

        // Another file's pull begins and ends: the bytes of x may still be sent.
        let y = try Self.offer(offers, id: "y.gguf", sha: "b", pieces: 1, in: directory.path)
        #expect(file.isUnchanged)
        offers.end(sha256: y.sha256)
        #expect(file.isUnchanged)
        #expect(try file.read(offset: 0, length: 4096).count == 4096)

        // x's own pull begun anew (its partial may be written again): the file is done.
        _ = try Self.offer(offers, id: "x.gguf", sha: "a", pieces: 2, in: directory.path)
        #expect(!file.isUnchanged)
        #expect(throws: PartialRefusal.self) { try file.read(offset: 0, length: 4096) }

        // A file opened on the new offer lives until that offer ends.
        let again = try OpenPartialFile(offers: offers, sha256: x.sha256, offset: 0, length: 1 << 20)
        #expect(again.isUnchanged)
        offers.end(sha256: x.sha256)
        #expect(!again.isUnchanged)
    }

    /// A whole 24 MiB body from partial x streams to its end while a pull of y begins and ends.
    @Test func aBodyIsNotCutWhenAnotherFilesPullBeginsOrEnds() async throws {
        let size = 24 << 20
        try await withFixtureNode { node, fixture in
            let offers = node.node.partialOffers
            _ = try Self.offer(offers, id: "big.gguf", sha: "d", pieces: 24, in: fixture.directory.path)
            let other = fixture.directory.path
            let port = node.port
            let received = try await RawHTTP.blocking { () throws -> Int in
                let connection = try RawHTTP.Connection(port: port, timeout: 30)
                defer { connection.close() }
                try connection.write(RawHTTP.request("GET", "/v1/models/download/big.gguf", headers: ["Range: bytes=0-"]))
                let head = try connection.readHead()
                #expect(head.status == 206)
                var total = try connection.readBytes(64 * 1024).count
                let y = try Self.offer(offers, id: "other.gguf", sha: "c", pieces: 1, in: other)
                total += try connection.readBytes(64 * 1024).count
                offers.end(sha256: y.sha256)
                total += try connection.readUntilClosed().count
                return total
            }
            #expect(received == size)
        }
    }
}
