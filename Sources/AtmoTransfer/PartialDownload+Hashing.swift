import AtmoStore
import Crypto
import Foundation

/// Hashing bytes back from a partial file: the hasher's path for pieces that went to the
/// disk without passing through the process (spliced runs, an earlier run's pieces).
enum PartialHashing {
    /// Bytes per `pread`: small enough that the slice stays in the core's own cache between
    /// the read and the hash (1 MiB slices in a new buffer each cost a tenth of the pull's
    /// CPU in copies and page faults).
    static let slice = 256 * 1024

    /// `hasher` updated with bytes `[offset, offset + length)` of the file open as `fd`,
    /// read through `buffer`. Blocking. A file shorter than that is corrupt (it was
    /// recorded as written): it will be downloaded again.
    static func update(
        _ hasher: SHA256, fd: Int32, path: String, offset: Int64, length: Int64, through buffer: ReadBuffer
    ) throws -> SHA256 {
        var hasher = hasher
        let buffer = buffer.bytes
        var done: Int64 = 0
        while done < length {
            let count = Int(min(Int64(slice), length - done))
            let part = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
            guard try FileIO.pread(fd, into: part, offset: offset + done, path: path) == count else {
                throw StoreError(.corrupt, "\(path) is shorter than recorded; it will be downloaded again")
            }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(part))
            done += Int64(count)
        }
        return hasher
    }

    /// The buffer of one hash loop's reads, kept for the whole pull: a new one per piece cost
    /// a page fault per 4 KiB. Used by one read at a time (the loop awaits each).
    final class ReadBuffer: @unchecked Sendable {
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: PartialHashing.slice, alignment: 4096)
        deinit { bytes.deallocate() }
    }
}

extension PartialDownload {
    /// `hasher` updated with bytes `[offset, offset + length)` of the partial, on the engine's pool.
    func hashBack(_ hasher: SHA256, offset: Int64, length: Int64, through buffer: PartialHashing.ReadBuffer) async throws -> SHA256 {
        let (fd, path) = (self.fd, self.path)
        return try await engine.blockingIO.run {
            try PartialHashing.update(hasher, fd: fd, path: path, offset: offset, length: length, through: buffer)
        }
    }
}
