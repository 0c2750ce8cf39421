import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Streams a file through SHA-256 with one bounded buffer (4 MiB), whatever the file size.
package enum FileHasher {
    package static let bufferSize = 4 * 1024 * 1024

    /// Lowercase hex SHA-256 of the first `length` bytes of the file (all of it when nil).
    /// Blocking: call through `BlockingIO.run` and pass its `CancellationFlag` as
    /// `isCancelled`, which is checked before every read (`Task.isCancelled` means nothing
    /// on a pool thread); throws `CancellationError` once it is set.
    package static func sha256(path: String, length: Int64? = nil, isCancelled: @Sendable () -> Bool = { false }) throws -> String {
        var hasher = SHA256()
        try update(&hasher, path: path, from: 0, length: length, isCancelled: isCancelled)
        return hasher.finalize().hexString
    }

    /// Opens `path` read-only and tells the kernel it will be read from start to end (read
    /// ahead more), for the hashes that do.
    static func openForSequentialReading(_ path: String) throws(StoreError) -> Int32 {
        let fd = try FileIO.open(path, flags: O_RDONLY)
        #if canImport(Glibc)
        posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        #elseif canImport(Darwin)
        _ = fcntl(fd, F_RDAHEAD, 1)
        #endif
        return fd
    }

    /// Feeds bytes `[from, from+length)` of a file into `hasher`.
    package static func update(
        _ hasher: inout SHA256, path: String, from offset: Int64, length: Int64?, isCancelled: @Sendable () -> Bool = { false }
    ) throws {
        let fd = try openForSequentialReading(path)
        defer { FileIO.close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 4096)
        defer { buffer.deallocate() }
        var position = offset
        let end = length.map { offset + $0 }
        while end.map({ position < $0 }) ?? true {
            if isCancelled() { throw CancellationError() }
            let want = end.map { Int(min(Int64(bufferSize), $0 - position)) } ?? bufferSize
            let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want])
            let got = try FileIO.pread(fd, into: slice, offset: position, path: path)
            if got == 0 {
                if end != nil { throw StoreError(.corrupt, "\(path) is shorter than expected: it changed while being read") }
                break
            }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
            position += Int64(got)
        }
    }
}

extension Sequence where Element == UInt8 {
    /// Lowercase hex.
    package var hexString: String {
        var text = ""
        text.reserveCapacity(64)
        for byte in self {
            text.append(Character(Unicode.Scalar(hexDigits[Int(byte >> 4)])))
            text.append(Character(Unicode.Scalar(hexDigits[Int(byte & 0x0f)])))
        }
        return text
    }
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

extension SHA256.Digest {
    package var hexString: String { Array(self).hexString }
}
