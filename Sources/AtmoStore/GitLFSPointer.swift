import Crypto

/// The git LFS pointer a Hub repository keeps in git for a file stored in LFS
/// (git-lfs spec v1): the Hub's listings name an LFS file by the git blob id of this pointer
/// (`oid`) and give its length (`pointerSize`), besides the file's own SHA-256.
public enum GitLFSPointer {
    /// `version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n`.
    public static func text(sha256: String, size: Int64) -> String {
        "version https://git-lfs.github.com/spec/v1\noid sha256:\(sha256)\nsize \(size)\n"
    }

    /// The pointer's length in bytes.
    public static func size(sha256: String, size: Int64) -> Int {
        text(sha256: sha256, size: size).utf8.count
    }

    /// The git blob id of the pointer: SHA-1 of `blob {length}\0` and the pointer's bytes.
    public static func gitBlobID(sha256: String, size: Int64) -> String {
        gitBlobID(of: Array(text(sha256: sha256, size: size).utf8))
    }

    /// The git blob id of `bytes` held in memory (small files only).
    public static func gitBlobID(of bytes: [UInt8]) -> String {
        var sha1 = Insecure.SHA1()
        sha1.update(data: Array("blob \(bytes.count)".utf8) + [0])
        sha1.update(data: bytes)
        return sha1.finalize().map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
