import AtmoStore
import Crypto
import Foundation

/// Model files for tests and benchmarks: deterministic pseudo-random bytes (so a failure
/// reproduces) with an optional real format header.
public enum ModelFixtures {
    public enum Header: Sendable {
        case none
        case gguf
        case safetensors

        var bytes: [UInt8] {
            switch self {
            case .none: return []
            case .gguf: return Array("GGUF".utf8) + [3, 0, 0, 0]
            case .safetensors:
                let json = Array(#"{"__metadata__":{}}"#.utf8)
                var length = UInt64(json.count).littleEndian
                return withUnsafeBytes(of: &length) { Array($0) } + json
            }
        }
    }

    /// Writes `size` bytes to `path` (creating folders) and returns their SHA-256 (hex).
    @discardableResult
    public static func writeModel(at path: String, size: Int, seed: UInt64 = 1, header: Header = .none) throws -> String {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var generator = SplitMix64(seed: seed)
        var hasher = SHA256()
        var written = 0
        let chunk = 1 << 20
        var first = true
        while written < size {
            var bytes = [UInt8](repeating: 0, count: min(chunk, size - written))
            bytes.withUnsafeMutableBytes { raw in
                let words = raw.count / 8
                let pointer = raw.baseAddress!
                for index in 0..<words { pointer.storeBytes(of: generator.next(), toByteOffset: index * 8, as: UInt64.self) }
                for index in (words * 8)..<raw.count { raw[index] = UInt8(truncatingIfNeeded: generator.next()) }
            }
            if first {
                let prefix = header.bytes.prefix(bytes.count)
                bytes.replaceSubrange(0..<prefix.count, with: prefix)
                first = false
            }
            hasher.update(data: bytes)
            try handle.write(contentsOf: bytes)
            written += bytes.count
        }
        return hasher.finalize().hexString
    }

    /// Writes a large model fast: a sparse file of `size` bytes whose first `blockSize` bytes
    /// and first `blockSize` bytes of every `stride` are pseudo-random (the rest reads as
    /// zeros), so every piece of a transfer is distinct (a piece written at the wrong offset
    /// changes the hash) while only `size / stride * blockSize` bytes touch the disk.
    /// Returns the file's SHA-256 (hex).
    @discardableResult
    public static func writeSparseModel(
        at path: String, size: Int64, seed: UInt64 = 1, header: Header = .gguf, stride: Int64 = 1 << 20, blockSize: Int = 4096
    ) throws -> String {
        precondition(size >= 0 && stride > 0 && blockSize > 0)
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.truncate(atOffset: UInt64(size))
        var generator = SplitMix64(seed: seed)
        var offset: Int64 = 0
        while offset < size {
            let count = Int(min(Int64(blockSize), size - offset))
            var block = (0..<(count + 7) / 8).flatMap { _ in withUnsafeBytes(of: generator.next()) { Array($0) } }
            block.removeLast(block.count - count)
            if offset == 0 {
                let prefix = header.bytes.prefix(count)
                block.replaceSubrange(0..<prefix.count, with: prefix)
            }
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: block)
            offset += stride
        }
        return try FileHasher.sha256(path: path)
    }

    /// Flips the bits of the byte at `offset` of a file in place (a one-byte corruption).
    public static func flipByte(at offset: Int64, of path: String) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        guard let byte = try handle.read(upToCount: 1)?.first else {
            throw CocoaError(.fileReadTooLarge, userInfo: [NSFilePathErrorKey: path])
        }
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: [~byte])
    }

    /// SHA-256 of a file (hex).
    public static func sha256(of path: String) throws -> String {
        try FileHasher.sha256(path: path)
    }
}

/// A small, fast, seedable generator (public domain algorithm by Sebastiano Vigna).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
