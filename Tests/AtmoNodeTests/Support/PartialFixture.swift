import AtmoProtocol
import AtmoTesting
import AtmoTransfer
import Foundation

/// A file "being pulled" for tests of serving while downloading: the true bytes, and a
/// partial file of the same size that holds them only in the held pieces; every other piece
/// is filled with 0xEE, so a byte served from a piece not held shows.
struct PartialFixture: Sendable {
    static let modelID = "growing.gguf"
    /// 64 KiB pieces: 4 whole ones and a short fifth.
    static let pieceSize: Int64 = 1 << 16
    static let size = 300_000
    static let pieceCount = 5

    let truth: [UInt8]
    let sha256: String
    let partialPath: String

    var entry: ModelEntry {
        ModelEntry(
            modelID: Self.modelID, name: "growing", type: "llm", format: "gguf", sizeBytes: Int64(Self.size), sha256: sha256,
            pieceSize: Self.pieceSize, piecesSHA256: String(repeating: "b", count: 64))
    }

    /// The layout only: serving never reads the digests.
    var manifest: PieceManifest {
        PieceManifest(
            fileSize: Int64(Self.size), pieceSize: Self.pieceSize,
            digests: [UInt8](repeating: 0, count: Self.pieceCount * PieceManifest.digestSize))!
    }

    /// Writes the truth (outside any scanned folder) and the partial file with `held` pieces in `folder`.
    static func make(in folder: String, held: [Int]) throws -> PartialFixture {
        let truthPath = folder + "/truth.bin"
        let sha256 = try ModelFixtures.writeModel(at: truthPath, size: size, seed: 42, header: .gguf)
        let truth = Array(try Data(contentsOf: URL(fileURLWithPath: truthPath)))
        let fixture = PartialFixture(truth: truth, sha256: sha256, partialPath: folder + "/growing.part")
        var partial = [UInt8](repeating: 0xEE, count: size)
        for index in held {
            let range = fixture.range(of: index)
            partial.replaceSubrange(range, with: truth[range])
        }
        try Data(partial).write(to: URL(fileURLWithPath: fixture.partialPath))
        return fixture
    }

    func range(of index: Int) -> Range<Int> {
        let start = index * Int(Self.pieceSize)
        return start..<min(start + Int(Self.pieceSize), Self.size)
    }

    /// Writes piece `index`'s true bytes into the partial file (before it is marked verified).
    func fill(_ index: Int) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: partialPath))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(range(of: index).lowerBound))
        try handle.write(contentsOf: Data(truth[range(of: index)]))
    }

    func begin(on offers: PartialOffers, held: [Int]) {
        var bitfield = Bitfield(count: Self.pieceCount)
        for index in held { bitfield[index] = true }
        offers.begin(entry: entry, manifest: manifest, partialPath: partialPath, held: bitfield)
    }

    func bytes(_ range: ClosedRange<Int>) -> [UInt8] { Array(truth[range]) }
}

/// Runs `body` against a fixture provider that is pulling `PartialFixture` with `held` pieces.
func withPartialNode<T: Sendable>(
    held: [Int], _ body: @Sendable (RunningNode, NodeFixture, PartialFixture) async throws -> T
) async throws -> T {
    try await withFixtureNode { node, fixture in
        let folder = fixture.directory.sub("pulling")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let partial = try PartialFixture.make(in: folder, held: held)
        partial.begin(on: node.node.partialOffers, held: held)
        return try await body(node, fixture, partial)
    }
}
