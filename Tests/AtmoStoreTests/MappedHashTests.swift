import AtmoTesting
import Crypto
import Foundation
import Testing

@testable import AtmoStore

/// `FileHasher.updateMapped`: a range of an open file hashed from its mapped pages equals
/// SHA-256 of the same bytes, wherever the range starts and however many windows it spans;
/// a range past the end of the file is an error, not a SIGBUS.
struct MappedHashTests {
    @Test(
        "a range hashed from the page cache equals SHA-256 of its bytes",
        arguments: [
            (0, 1), (0, 4096), (1, 4095), (4095, 2), (12_345, 1 << 20),
            // Across windows (4 MiB each), from a page boundary and from the middle of a page.
            (0, 9 * (1 << 20) + 7), (4097, 9 * (1 << 20)), ((1 << 22) - 1, (1 << 22) + 2),
        ])
    func rangeMatchesItsBytes(offset: Int, length: Int) async throws {
        try await withTemporaryDirectory { root in
            let bytes = PieceManifestHashTests.pattern(count: 10 * (1 << 20), seed: 11)
            let path = root.sub("partial.bin")
            try PieceManifestHashTests.write(bytes, to: path)
            let fd = try FileIO.open(path, flags: O_RDONLY)
            defer { FileIO.close(fd) }
            var hasher = SHA256()
            try FileHasher.updateMapped(&hasher, fd: fd, path: path, from: Int64(offset), length: Int64(length))
            #expect(hasher.finalize().hexString == SHA256.hash(data: bytes[offset..<offset + length]).hexString)
        }
    }

    @Test("a hash that goes on from bytes fed before it continues the same digest")
    func continuesTheDigest() async throws {
        try await withTemporaryDirectory { root in
            let bytes = PieceManifestHashTests.pattern(count: 3 * (1 << 20) + 5)
            let path = root.sub("partial.bin")
            try PieceManifestHashTests.write(bytes, to: path)
            let fd = try FileIO.open(path, flags: O_RDONLY)
            defer { FileIO.close(fd) }
            var hasher = SHA256()
            hasher.update(data: bytes[0..<1000])
            try FileHasher.updateMapped(&hasher, fd: fd, path: path, from: 1000, length: Int64(bytes.count - 1000))
            #expect(hasher.finalize().hexString == SHA256.hash(data: bytes).hexString)
        }
    }

    @Test("a range past the end of the file is a corrupt-file error (the file shrank), not a crash")
    func rangePastTheEndIsAnError() async throws {
        try await withTemporaryDirectory { root in
            let path = root.sub("partial.bin")
            try PieceManifestHashTests.write(PieceManifestHashTests.pattern(count: 10_000), to: path)
            let fd = try FileIO.open(path, flags: O_RDONLY)
            defer { FileIO.close(fd) }
            // Within the last page (it reads as zeros past the end) and whole pages past it
            // (touching those unpopulated would raise SIGBUS).
            for (offset, length) in [(0, 10_001), (9_999, 2), (0, 3 * 4096 + 1), (8192, 1 << 20), (1 << 20, 4096)] {
                var hasher = SHA256()
                let error = #expect(throws: StoreError.self) {
                    try FileHasher.updateMapped(&hasher, fd: fd, path: path, from: Int64(offset), length: Int64(length))
                }
                #expect(error?.code == .corrupt)
            }
        }
    }

    @Test("a window whose pages are past the end (the file shrank after its size was read) fails to populate: an error, no SIGBUS")
    func windowPastTheEndFailsToPopulate() async throws {
        try await withTemporaryDirectory { root in
            let path = root.sub("partial.bin")
            try PieceManifestHashTests.write(PieceManifestHashTests.pattern(count: 10_000), to: path)
            let fd = try FileIO.open(path, flags: O_RDONLY)
            defer { FileIO.close(fd) }
            var hasher = SHA256()
            let error = #expect(throws: StoreError.self) {
                _ = try FileHasher.hashWindow(&hasher, fd: fd, path: path, at: 8192, count: 1 << 20)
            }
            #expect(error?.code == .corrupt)
        }
    }
}
