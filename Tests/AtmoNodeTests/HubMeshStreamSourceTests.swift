import AtmoProtocol
import AtmoStore
import AtmoTesting
import AtmoTransfer
import Foundation
import Testing

@testable import AtmoNode

/// `HubMeshStreamSource` alone, on real files: what a Hub endpoint body reads while the
/// mesh fetch it streams ends.
struct HubMeshStreamSourceTests {
    /// A pull that succeeds renames its partial to the installed file, then ends its offer:
    /// a body whose first window comes in between finds the offer and no partial. Under load
    /// that was often so, and the body failed before its first byte (a `200` cut empty). It
    /// waits instead, and reads the installed file once the fetch says where it is.
    @Test func aPartialGoneBeforeTheFirstReadWaitsForTheInstalledFile() async throws {
        try await withTemporaryDirectory { folder in
            let size = 100_000
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) }
            let installed = folder.sub("installed")
            try Data(bytes).write(to: URL(fileURLWithPath: installed))
            let sha256 = try ModelFixtures.sha256(of: installed)
            let entry = ModelEntry(
                modelID: "org--name--weights.bin", name: "weights", type: "unknown", format: "", sizeBytes: Int64(size), sha256: sha256)
            // One piece: its digest is the file's.
            let digest = stride(from: 0, to: 64, by: 2).map { UInt8(sha256.utf8Slice($0, 2), radix: 16) ?? 0 }
            let manifest = try #require(PieceManifest(fileSize: Int64(size), pieceSize: 1 << 17, digests: digest))
            let offers = PartialOffers()
            var held = Bitfield(count: 1)
            held[0] = true
            // The partial is gone already (renamed to `installed`); the offer still lives.
            offers.begin(entry: entry, manifest: manifest, partialPath: folder.sub("gone.part"), held: held)

            let (gate, opens) = AsyncStream.makeStream(of: Void.self)
            let fetch = HubMeshFetch { _, _, _ in
                for await _ in gate { break }
                return installed
            }
            let repository = RepositoryEntry(
                modelID: "org--name", repoID: "org/name", revision: String(repeating: "a", count: 40),
                files: [RepositoryFile(path: "weights.bin", sizeBytes: Int64(size), sha256: sha256, blobID: sha256, modelID: entry.modelID)])
            guard case .running(let running) = fetch.start(repository, path: "weights.bin") else {
                Issue.record("the fetch did not start")
                return
            }
            let source = HubMeshStreamSource(offers: offers, fetch: running, sha256: sha256, size: Int64(size), io: BlockingIO.shared)
            defer { source.close() }

            let first = try await source.window(from: 0)
            #expect(first.readable == 0, "nothing to read from a partial that is gone")
            // The pull ends: its offer, then the fetch with the installed file.
            offers.end(sha256: sha256)
            opens.yield()
            opens.finish()
            let whole = try await eventually(timeout: .seconds(30)) { try await source.window(from: 0).readable == Int64(size) }
            #expect(whole, "the installed file is read once the fetch ended")
            let read = try source.read(offset: 0, count: size)
            #expect(read.map { Array($0.readableBytesView) } == bytes)
            await fetch.cancelAll()
        }
    }
}

extension String {
    /// `count` UTF-8 characters from `offset`, as a string (ASCII text only).
    fileprivate func utf8Slice(_ offset: Int, _ count: Int) -> String {
        let start = utf8.index(utf8.startIndex, offsetBy: offset)
        return String(decoding: utf8[start..<utf8.index(start, offsetBy: count)], as: UTF8.self)
    }
}
