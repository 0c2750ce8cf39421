import AtmoStore
import Foundation
import NIOCore

extension PartialDownload {
    /// Writes `chunks` back to back from `offset` in as few system calls as the kernel takes
    /// (`pwritev`, up to 1,024 buffers each: a 4 MiB run of 64 KiB reads is one call, where a
    /// `pwrite` per buffer made 64). Blocking.
    static func write(_ chunks: [ByteBuffer], fd: Int32, at offset: Int64, path: String) throws(StoreError) {
        // The pointers stay valid while `chunks` (the caller's) holds the buffers.
        var vectors: [iovec] = []
        vectors.reserveCapacity(chunks.count)
        for chunk in chunks where chunk.readableBytes > 0 {
            chunk.withUnsafeReadableBytes {
                vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count))
            }
        }
        var first = 0
        var position = offset
        while first < vectors.count {
            let count = min(vectors.count - first, Self.maxVectors)
            let written = vectors.withUnsafeBufferPointer { pwritev(fd, $0.baseAddress! + first, Int32(count), off_t(position)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw StoreError.posix(errno, "write", path: path)
            }
            guard written > 0 else { throw StoreError.posix(EIO, "write", path: path) }
            position += Int64(written)
            // Past what was written: whole buffers, then part of one.
            var left = written
            while left > 0 {
                let length = vectors[first].iov_len
                if left >= length {
                    left -= length
                    first += 1
                } else {
                    vectors[first].iov_base += left
                    vectors[first].iov_len -= left
                    left = 0
                }
            }
        }
    }

    /// Buffers per `pwritev` (Linux's and Darwin's IOV_MAX).
    static let maxVectors = 1024
}
