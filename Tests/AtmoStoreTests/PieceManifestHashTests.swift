import AtmoProtocol
import AtmoTesting
import Crypto
import Foundation
import Synchronization
import Testing

@testable import AtmoStore

/// `FileHasher.hashWithManifest`: the whole-file SHA-256 and the piece digests from one
/// read, equal to what hashing each piece separately gives.
struct PieceManifestHashTests {
    /// Bytes that differ from piece to piece (a manifest of equal digests would hide an
    /// off-by-one in the piece boundaries).
    static func pattern(count: Int, seed: UInt32 = 7) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(truncatingIfNeeded: state >> 24)
        }
    }

    /// The digests computed independently: SHA-256 of each slice.
    static func expectedDigests(_ bytes: [UInt8], pieceSize: Int) -> [UInt8] {
        stride(from: 0, to: bytes.count, by: pieceSize).flatMap { start in
            Array(SHA256.hash(data: bytes[start..<min(bytes.count, start + pieceSize)]))
        }
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test(
        "manifest of a file of odd size equals per-piece SHA-256s, inline and pipelined",
        arguments: [
            (1, 1 << 16), (65_537, 1 << 16), (3 * (1 << 20) + 12_345, 1 << 20),
            // Past two 4 MiB buffers: the pipelined path, pieces smaller and larger than a buffer.
            (9 * (1 << 20) + 7, 1 << 20), (13 * (1 << 20) + 99, 1 << 23), (17 * (1 << 20) + 1, 1 << 16),
        ])
    func oddSizes(size: Int, pieceSize: Int) async throws {
        try await withTemporaryDirectory { root in
            let bytes = Self.pattern(count: size)
            let path = root.sub("file.bin")
            try Self.write(bytes, to: path)
            let (sha256, manifest) = try FileHasher.hashWithManifest(path: path, pieceSize: Int64(pieceSize))
            #expect(sha256 == SHA256.hash(data: bytes).hexString)
            #expect(manifest.fileSize == Int64(size))
            #expect(manifest.pieceSize == Int64(pieceSize))
            #expect(manifest.pieceCount == (size + pieceSize - 1) / pieceSize)
            #expect(manifest.digests == Self.expectedDigests(bytes, pieceSize: pieceSize))
        }
    }

    @Test("an empty file has no pieces, and the SHA-256 of nothing")
    func emptyFile() async throws {
        try await withTemporaryDirectory { root in
            let path = root.sub("empty.bin")
            try Self.write([], to: path)
            let (sha256, manifest) = try FileHasher.hashWithManifest(path: path)
            #expect(sha256 == SHA256.hash(data: [UInt8]()).hexString)
            #expect(manifest.fileSize == 0)
            #expect(manifest.pieceCount == 0)
            #expect(manifest.digests.isEmpty)
            #expect(manifest.manifestSHA256 == SHA256.hash(data: [UInt8]()).hexString)
        }
    }

    @Test("a file of exactly N pieces has N full pieces, no empty last one", arguments: [1 << 20, 12 << 20])
    func exactMultiple(size: Int) async throws {
        try await withTemporaryDirectory { root in
            let bytes = Self.pattern(count: size, seed: 99)
            let path = root.sub("exact.bin")
            try Self.write(bytes, to: path)
            let (sha256, manifest) = try FileHasher.hashWithManifest(path: path, pieceSize: 1 << 20)
            #expect(sha256 == SHA256.hash(data: bytes).hexString)
            #expect(manifest.pieceCount == size >> 20)
            #expect(manifest.range(of: manifest.pieceCount - 1).length == 1 << 20)
            #expect(manifest.digests == Self.expectedDigests(bytes, pieceSize: 1 << 20))
        }
    }

    @Test("without a piece size the node's rule chooses it from the file size")
    func chosenPieceSize() async throws {
        try await withTemporaryDirectory { root in
            let path = root.sub("sparse.bin")
            try HashCancellationTests.writeLargeSparseModel(at: path, size: 5 << 20)
            let (sha256, manifest) = try FileHasher.hashWithManifest(path: path)
            #expect(sha256 == (try FileHasher.sha256(path: path)))
            #expect(manifest.pieceSize == PieceManifest.pieceSize(forFileSize: 5 << 20))
            #expect(manifest.pieceCount == 5)
        }
    }

    @Test("a cancelled hash with manifest stops at the next read, its piece thread stopped")
    func cancellationMidFile() async throws {
        try await withTemporaryDirectory { root in
            let path = root.sub("large.gguf")
            let size: Int64 = 16 << 30
            try HashCancellationTests.writeLargeSparseModel(at: path, size: size)
            let counter = HashCancellationTests.ReadCounter()
            let hashing = Task {
                try await BlockingIO.shared.run { cancellation in
                    try FileHasher.hashWithManifest(
                        path: path,
                        isCancelled: {
                            counter.reads.add(1, ordering: .relaxed)
                            return cancellation.isCancelled
                        })
                }
            }
            let deadline = ContinuousClock.now + .seconds(30)
            while counter.reads.load(ordering: .relaxed) < 4, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            hashing.cancel()
            let outcome = await hashing.result
            #expect(throws: CancellationError.self) { try outcome.get() }
            let reads = counter.reads.load(ordering: .relaxed)
            #expect(reads < Int(size / Int64(FileHasher.bufferSize)), "read \(reads) of \(size / Int64(FileHasher.bufferSize)) blocks")
        }
    }

    @Test("a file that cannot be opened throws a StoreError")
    func missingFile() throws {
        #expect(throws: StoreError.self) { try FileHasher.hashWithManifest(path: "/nonexistent/atmo/file.bin") }
    }

    @Test("PieceDigester gives the same digests whatever the chunk sizes fed")
    func digesterChunking() {
        let bytes = Self.pattern(count: 300_001, seed: 3)
        var digester = PieceDigester(pieceSize: 1 << 16)
        var offset = 0
        var step = 1
        bytes.withUnsafeBytes { all in
            while offset < bytes.count {
                let end = min(bytes.count, offset + step)
                digester.update(UnsafeRawBufferPointer(rebasing: all[offset..<end]))
                offset = end
                step = step * 3 + 1
            }
        }
        let manifest = digester.finish()
        #expect(manifest?.digests == Self.expectedDigests(bytes, pieceSize: 1 << 16))
    }
}
