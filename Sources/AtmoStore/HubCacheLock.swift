import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension HubCache {
    /// Runs `body` holding the blob's lock, the one `huggingface_hub` takes (through the
    /// `filelock` package: `flock(LOCK_EX)` on `{cache}/.locks/{repo folder}/{etag}.lock`,
    /// a file left in place, mode 0664), so a Python download of the same blob waits for
    /// this install and the other way round. The lock file is opened without following a
    /// symlink. Blocking.
    func withBlobLock<T>(repositoryID: String, blobID: String, _ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        guard let path = lockPath(repositoryID: repositoryID, blobID: blobID) else {
            throw StoreError(.conflict, "no lock path for \(repositoryID) blob \(blobID)")
        }
        try FileIO.makeDirectory((path as NSString).deletingLastPathComponent)
        let fd = try FileIO.open(path, flags: O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o664)
        defer { FileIO.close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw StoreError.posix(errno, "lock", path: path) }
        }
        return try body()
    }
}

/// The two names a file's bytes give it on the Hub: its SHA-256 and its git blob id
/// (SHA-1 of `blob {size}\0` followed by the bytes), computed in one streaming read.
public struct HubFileDigests: Sendable, Hashable {
    public var sha256: String
    public var gitBlobID: String
    public var sizeBytes: Int64

    /// Reads `path` in 1 MiB pieces (never whole into memory). Blocking.
    public static func compute(path: String) throws(StoreError) -> HubFileDigests {
        let fd = try FileIO.open(path, flags: O_RDONLY)
        defer { FileIO.close(fd) }
        let size = try FileIO.fstat(fd).size
        var digests = Accumulator(sizeBytes: size)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        while true {
            let count = try FileIO.pread(fd, into: buffer, offset: offset, path: path)
            if count == 0 { break }
            digests.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            offset += Int64(count)
        }
        guard offset == size else { throw StoreError(.io, "\(path) changed size while it was read") }
        return digests.finish()
    }

    /// Both hashes over bytes fed in order; the size must be known first (git's header).
    package struct Accumulator {
        private var sha256 = SHA256()
        private var sha1 = Insecure.SHA1()
        private var fed: Int64 = 0
        package let sizeBytes: Int64

        package init(sizeBytes: Int64) {
            self.sizeBytes = sizeBytes
            sha1.update(data: Array("blob \(sizeBytes)".utf8) + [0])
        }

        package mutating func update(_ bytes: UnsafeRawBufferPointer) {
            sha256.update(bufferPointer: bytes)
            sha1.update(bufferPointer: bytes)
            fed += Int64(bytes.count)
        }

        package func finish() -> HubFileDigests {
            HubFileDigests(sha256: Self.hex(sha256.finalize()), gitBlobID: Self.hex(sha1.finalize()), sizeBytes: fed)
        }

        static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
            digest.map { String(format: "%02x", $0) }.joined()
        }
    }

    /// Whether these digests are those of `file`: its size and SHA-256, and its blob id
    /// (the SHA-256 for an LFS file, the git blob id for the others).
    public func match(_ file: HubCacheFile) -> Bool {
        sizeBytes == file.sizeBytes && sha256 == file.sha256
            && (HubCache.isLFSBlobID(file.blobID) ? file.blobID == sha256 : file.blobID == gitBlobID)
    }
}
