import Foundation

/// A Hugging Face hub cache folder, written the way `huggingface_hub` writes it (the layout
/// the hub-docs page "Hub Local Cache" specifies for reimplementers):
///
/// ```
/// {root}/models--{org}--{name}/blobs/{blob_id}              the bytes, named by their etag
/// {root}/models--{org}--{name}/snapshots/{revision}/{path}  relative symlink to the blob
/// {root}/models--{org}--{name}/refs/{ref}                   the revision (no newline)
/// {root}/.locks/models--{org}--{name}/{blob_id}.lock        flock held while a blob is written
/// ```
///
/// A blob id is the Hub's etag of the file: its SHA-256 for an LFS file (64 hex), its git
/// blob id (SHA-1 of `blob {size}\0` + bytes, 40 hex) for the others. This type holds the
/// pure rules (names, validation, symlink targets); `HubCache+Install` writes.
public struct HubCache: Sendable, Hashable {
    /// The cache folder (the one holding `models--*` folders).
    public let root: String

    public init(root: String) {
        var root = root
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        self.root = root
    }

    /// `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else
    /// `{home}/.cache/huggingface/hub`, as `huggingface_hub` resolves it (a leading `~`
    /// means `home`; empty values count as unset).
    public static func defaultRoot(environment: [String: String], home: String) -> String {
        func value(_ name: String) -> String? {
            guard let raw = environment[name], !raw.isEmpty else { return nil }
            if raw == "~" { return home }
            if raw.hasPrefix("~/") { return home + raw.dropFirst() }
            return raw
        }
        if let hub = value("HF_HUB_CACHE") { return hub }
        if let hfHome = value("HF_HOME") { return hfHome + "/hub" }
        if let xdg = value("XDG_CACHE_HOME") { return xdg + "/huggingface/hub" }
        return home + "/.cache/huggingface/hub"
    }

    /// `models--{org}--{name}` (or `models--{name}`); nil for a repository id the Hub would
    /// refuse (see `isValidRepositoryID`).
    public static func folderName(repositoryID: String) -> String? {
        guard isValidRepositoryID(repositoryID) else { return nil }
        return "models--" + repositoryID.replacingOccurrences(of: "/", with: "--")
    }

    /// The repository's folder, nil for an invalid id.
    public func repositoryFolder(_ repositoryID: String) -> String? {
        Self.folderName(repositoryID: repositoryID).map { root + "/" + $0 }
    }

    /// The lock `huggingface_hub` takes while it writes that blob (`filelock` on
    /// `{cache}/.locks/{repo folder}/{etag}.lock`).
    public func lockPath(repositoryID: String, blobID: String) -> String? {
        guard let folder = Self.folderName(repositoryID: repositoryID), Self.isValidBlobID(blobID) else { return nil }
        return root + "/.locks/" + folder + "/" + blobID + ".lock"
    }

    /// Where the snapshot of `revision` is, nil for an invalid id or revision.
    public func snapshotFolder(repositoryID: String, revision: String) -> String? {
        guard let folder = repositoryFolder(repositoryID), Self.isValidRevision(revision) else { return nil }
        return folder + "/snapshots/" + revision
    }

    // MARK: - Validation (pure)

    /// The Hub's rule for repository ids: `name` or `org/name`, each part 1-96 of
    /// `A-Z a-z 0-9 . _ -`, not starting or ending with `.` or `-`, and no `--` or `..`
    /// anywhere (the cache uses `--` as its separator).
    public static func isValidRepositoryID(_ id: String) -> Bool {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !id.contains("--"), !id.contains("..") else { return false }
        return parts.allSatisfy { part in
            guard (1...96).contains(part.utf8.count), let first = part.utf8.first, let last = part.utf8.last else { return false }
            let edges: Set<UInt8> = [UInt8(ascii: "."), UInt8(ascii: "-")]
            return part.utf8.allSatisfy(isNameByte) && !edges.contains(first) && !edges.contains(last)
        }
    }

    /// A commit: 40 lowercase hex digits.
    public static func isValidRevision(_ revision: String) -> Bool {
        revision.utf8.count == 40 && revision.utf8.allSatisfy(isLowerHex)
    }

    /// A blob id: 40 (git blob) or 64 (SHA-256 of an LFS file) lowercase hex digits.
    public static func isValidBlobID(_ blobID: String) -> Bool {
        (blobID.utf8.count == 40 || blobID.utf8.count == 64) && blobID.utf8.allSatisfy(isLowerHex)
    }

    /// Whether a blob id names an LFS file (its SHA-256) rather than a git blob.
    public static func isLFSBlobID(_ blobID: String) -> Bool { blobID.utf8.count == 64 }

    /// A ref name for `refs/`: `main`, `v1.0`, `refs/pr/1`: segments of `A-Z a-z 0-9 . _ -`
    /// separated by `/`, none empty, `.` or `..`, at most 256 bytes in all.
    public static func isValidRefName(_ ref: String) -> Bool {
        guard (1...256).contains(ref.utf8.count) else { return false }
        return ref.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { segment in
            !segment.isEmpty && segment != "." && segment != ".." && segment.utf8.allSatisfy(isNameByte)
        }
    }

    /// A file's path inside a snapshot: relative POSIX, no leading `/`, no empty, `.` or `..`
    /// segment, no NUL or backslash, at most 1024 bytes. Anything else could name a place
    /// outside the snapshot, and is refused before any file is touched.
    public static func isSafeRelativePath(_ path: String) -> Bool {
        guard (1...1024).contains(path.utf8.count), !path.utf8.contains(0), !path.contains("\\") else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { segment in
            !segment.isEmpty && segment != "." && segment != ".."
        }
    }

    /// The target of the symlink at `snapshots/{revision}/{path}`: `../../blobs/{blob_id}`
    /// with one more `../` per folder of `path`, e.g. `onnx/model.onnx` ->
    /// `../../../blobs/{blob_id}` (what `os.path.relpath` gives `huggingface_hub`).
    public static func symlinkTarget(path: String, blobID: String) -> String {
        let depth = path.utf8.filter { $0 == UInt8(ascii: "/") }.count
        return String(repeating: "../", count: depth + 2) + "blobs/" + blobID
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"): true
        default: false
        }
    }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}
