import Foundation

/// One file of a repository snapshot, as the cache names and checks it.
public struct HubCacheFile: Sendable, Hashable {
    /// Relative POSIX path in the snapshot (`HubCache.isSafeRelativePath`).
    public var path: String
    public var sizeBytes: Int64
    /// SHA-256 of the bytes, 64 lowercase hex.
    public var sha256: String
    /// The Hub's etag: the SHA-256 for an LFS file, the git blob id for the others.
    public var blobID: String

    public init(path: String, sizeBytes: Int64, sha256: String, blobID: String) {
        self.path = path
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
        self.blobID = blobID
    }

    /// Why this file cannot go into a cache, nil when it can: a path that could leave the
    /// snapshot, a malformed hash or blob id, or an LFS blob id that is not the file's SHA-256.
    public var problem: String? {
        if !HubCache.isSafeRelativePath(path) { return "unsafe path \(path.debugDescription)" }
        if sizeBytes < 0 { return "\(path): negative size" }
        if sha256.utf8.count != 64 || !HubCache.isValidBlobID(sha256) { return "\(path): sha256 is not 64 lowercase hex digits" }
        if !HubCache.isValidBlobID(blobID) {
            return "\(path): blob id \(blobID.debugDescription) is neither 40 nor 64 lowercase hex digits"
        }
        if HubCache.isLFSBlobID(blobID) && blobID != sha256 { return "\(path): an LFS blob id must be the file's SHA-256" }
        return nil
    }
}

/// What is on disk at one file's two places, as `HubCache.observe` found it.
public struct HubFileObservation: Sendable, Hashable {
    public enum Pointer: Sendable, Hashable {
        case missing
        /// A symlink, with its target as written.
        case symlink(target: String)
        /// A regular file, a folder or anything else that is not a symlink.
        case other
    }

    public enum Blob: Sendable, Hashable {
        case missing
        /// A regular file of this size.
        case file(sizeBytes: Int64)
        /// A folder, a symlink or anything else: not a blob, never reused.
        case other
    }

    public var pointer: Pointer
    public var blob: Blob

    public init(pointer: Pointer, blob: Blob) {
        self.pointer = pointer
        self.blob = blob
    }
}

/// What an install must do for one file (`HubCache.step`).
public enum HubFileStep: Sendable, Hashable {
    /// The snapshot's symlink points at a blob of the right size: nothing to do.
    case installed
    /// The blob is there (right size): only the snapshot's symlink is to be written.
    case linkExistingBlob
    /// The blob is missing (or not one): its bytes must come from the store or the network.
    case needsBlob
}

extension HubCache {
    /// The step one file needs, from what is on disk. A blob of the right size is reused
    /// (its name is its etag, and for an LFS file that is its SHA-256); one of another size
    /// is replaced. A pointer that is not the expected relative symlink is rewritten.
    public static func step(for file: HubCacheFile, observed: HubFileObservation) -> HubFileStep {
        guard case .file(let size) = observed.blob, size == file.sizeBytes else { return .needsBlob }
        if case .symlink(let target) = observed.pointer, target == symlinkTarget(path: file.path, blobID: file.blobID) {
            return .installed
        }
        return .linkExistingBlob
    }

    /// Files two of which would occupy the same place in a snapshot (the same path, or one's
    /// path a folder of the other's): a repository listing them cannot be installed.
    public static func conflictingPaths(_ files: [HubCacheFile]) -> [String] {
        let paths = Set(files.map(\.path))
        var conflicts: Set<String> = []
        var seen: Set<String> = []
        for file in files {
            if !seen.insert(file.path).inserted { conflicts.insert(file.path) }
            var prefix = ""
            for segment in file.path.split(separator: "/").dropLast() {
                prefix += prefix.isEmpty ? String(segment) : "/" + segment
                if paths.contains(prefix) { conflicts.insert(prefix) }
            }
        }
        return conflicts.sorted()
    }
}
