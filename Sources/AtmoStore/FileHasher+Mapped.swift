import CAtmoSystem
import Crypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hashing bytes a pull has just written, straight from the page cache.
///
/// A pull's whole-file hash reads every piece back from the partial file. Through `pread`
/// each byte is copied once more into the process before SHA-256 reads it; through a
/// read-only mapping the hash reads the page cache's own pages (docs/BENCHMARKS.md, issue
/// 10's figure 5). Each window is populated first (`MADV_POPULATE_READ`), so that a read
/// error or a file shorter than the range is a `StoreError` here, not a SIGBUS in the middle
/// of the hash. (Only another program truncating the partial while a populated window is
/// hashed could still raise one; the partial is locked by its pull, and atmo never does.) Where the kernel cannot map or populate (before Linux 5.14, another system), the
/// bytes are read with `pread` as before.
extension FileHasher {
    /// Bytes mapped at a time (mapped pages count in the process's resident size).
    static let mappedWindow = 4 * 1024 * 1024

    /// Feeds bytes `[offset, offset + length)` of the open file `fd` into `hasher`.
    /// Blocking: call it on a pool thread (`hashed(_:fd:path:from:length:on:)`).
    package static func updateMapped(_ hasher: inout SHA256, fd: Int32, path: String, from offset: Int64, length: Int64) throws(StoreError) {
        var position = offset
        let end = offset + length
        // Past the end, a mapping's last page reads as zeros: the file must hold the range.
        guard try FileIO.fstat(fd).size >= end else { throw shrank(path) }
        while position < end {
            let count = Int(min(Int64(mappedWindow), end - position))
            guard try hashWindow(&hasher, fd: fd, path: path, at: position, count: count) else {
                try updateRead(&hasher, fd: fd, path: path, from: position, length: end - position)
                return
            }
            position += Int64(count)
        }
    }

    /// `updateMapped` on `pool`: `hasher` fed with the range.
    package static func hashed(
        _ hasher: SHA256, fd: Int32, path: String, from offset: Int64, length: Int64, on pool: BlockingIO
    ) async throws -> SHA256 {
        try await pool.run {
            var hasher = hasher
            try updateMapped(&hasher, fd: fd, path: path, from: offset, length: length)
            return hasher
        }
    }

    /// One window through a mapping; false when this system maps or populates no file
    /// pages (nothing was hashed). Pages past the file's end (it shrank under the hash) fail
    /// to populate: an error, not a SIGBUS.
    static func hashWindow(_ hasher: inout SHA256, fd: Int32, path: String, at position: Int64, count: Int) throws(StoreError) -> Bool {
        #if os(Linux)
        let page = Int64(sysconf(Int32(_SC_PAGESIZE)))
        let mappedFrom = position - position % page
        let skip = Int(position - mappedFrom)
        let mappedLength = skip + count
        let base = mmap(nil, mappedLength, PROT_READ, MAP_SHARED, fd, off_t(mappedFrom))
        guard let base, base != MAP_FAILED else { return false }
        defer { munmap(base, mappedLength) }
        switch atmo_populate_read(base, mappedLength) {
        case 0:
            hasher.update(bufferPointer: UnsafeRawBufferPointer(start: base + skip, count: count))
            return true
        case EINVAL, ENOSYS, ENOMEM, EAGAIN:
            // No such advice, or no room to populate now: `pread` reads the rest.
            return false
        case EFAULT:
            throw shrank(path)
        case let error:
            throw StoreError.posix(error, "read", path: path)
        }
        #else
        return false
        #endif
    }

    /// The same range through `pread`, a bounded buffer at a time.
    private static func updateRead(_ hasher: inout SHA256, fd: Int32, path: String, from offset: Int64, length: Int64) throws(StoreError) {
        let size = Int(min(Int64(bufferSize), length))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 4096)
        defer { buffer.deallocate() }
        var done: Int64 = 0
        while done < length {
            let want = Int(min(Int64(size), length - done))
            let got = try FileIO.pread(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]), offset: offset + done, path: path)
            guard got == want else { throw shrank(path) }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<want]))
            done += Int64(want)
        }
    }

    private static func shrank(_ path: String) -> StoreError {
        StoreError(.corrupt, "\(path) is shorter than recorded; it will be downloaded again")
    }
}
