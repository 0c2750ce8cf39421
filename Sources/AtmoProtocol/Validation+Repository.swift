/// The checks on what a repository entry names: paths inside a snapshot, Hub repository
/// ids, revisions, ref names and blob ids. Each keeps a peer's string from naming anything
/// outside the folder a consumer installs into.
extension Validation {
    /// A file path inside a snapshot: 1-`WireLimits.maxRepositoryPathBytes` bytes of
    /// `/`-separated segments, none empty, `.` or `..`; no leading `/`, no `\`, no NUL and no
    /// other control character. Any other UTF-8 is allowed (Hub paths may hold spaces and
    /// non-ASCII letters).
    public static func isValidRepositoryPath(_ path: String) -> Bool {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count <= WireLimits.maxRepositoryPathBytes else { return false }
        guard bytes.allSatisfy({ $0 >= 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "\\") }) else { return false }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        return segments.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    /// A Hugging Face repository id as the Hub accepts it: `name` or `org/name`, each part
    /// 1-96 characters of `A-Z a-z 0-9 . _ -` that starts and ends with a letter, digit or
    /// `_`; no `--` or `..` anywhere (the cache folder `models--{org}--{name}` must split
    /// back into the same id) and no `.git` at the end.
    public static func isValidRepositoryID(_ id: String) -> Bool {
        guard !id.contains("--"), !id.contains(".."), !id.hasSuffix(".git") else { return false }
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return false }
        return parts.allSatisfy { part in
            let bytes = Array(part.utf8)
            guard let first = bytes.first, let last = bytes.last, bytes.count <= 96 else { return false }
            let isWordByte = { (byte: UInt8) in isAlphanumeric(byte) || byte == UInt8(ascii: "_") }
            return isWordByte(first) && isWordByte(last)
                && bytes.allSatisfy { isWordByte($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
        }
    }

    /// A commit id: exactly 40 lowercase hex characters.
    public static func isValidRevision(_ text: String) -> Bool {
        isLowercaseHex(text, count: 40)
    }

    /// A `blob_id`: 40 (git blob id) or 64 (SHA-256) lowercase hex characters.
    public static func isValidBlobID(_ text: String) -> Bool {
        isLowercaseHex(text, count: 40) || isLowercaseHex(text, count: 64)
    }

    /// A ref name a consumer may write as `refs/{name}`: 1-`WireLimits.maxRefNameBytes`
    /// bytes of `/`-separated segments of `A-Z a-z 0-9 . _ -`, none empty, `.` or `..`, none
    /// starting with `.` (`main`, `v1.0`, `refs/pr/1`).
    public static func isValidRefName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= WireLimits.maxRefNameBytes else { return false }
        return name.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { segment in
            guard let first = segment.utf8.first, first != UInt8(ascii: ".") else { return false }
            return segment.utf8.allSatisfy {
                isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            }
        }
    }

    static func isLowercaseHex(_ text: String, count: Int) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.count == count && bytes.allSatisfy { isDigit($0) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) }
    }
}
