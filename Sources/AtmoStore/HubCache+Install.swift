import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How a blob got into the cache.
public enum HubBlobInstall: String, Sendable, Hashable {
    /// It was there already (right size): nothing was written.
    case reused
    /// Hard-linked from the source: no byte stored twice.
    case linked
    /// Copied (the source is on another file system, or it has no hard links).
    case copied
}

extension HubCache {
    /// What is at a file's pointer and blob now. Blocking.
    public func observe(_ file: HubCacheFile, repositoryID: String, revision: String) -> HubFileObservation {
        guard let folder = repositoryFolder(repositoryID), let snapshot = snapshotFolder(repositoryID: repositoryID, revision: revision),
            file.problem == nil
        else { return HubFileObservation(pointer: .other, blob: .other) }
        let pointer: HubFileObservation.Pointer
        switch Self.kind(snapshot + "/" + file.path) {
        case .missing: pointer = .missing
        case .symlink:
            pointer =
                (try? FileManager.default.destinationOfSymbolicLink(atPath: snapshot + "/" + file.path)).map { .symlink(target: $0) }
                ?? .other
        default: pointer = .other
        }
        let blob: HubFileObservation.Blob
        switch Self.kind(folder + "/blobs/" + file.blobID) {
        case .missing: blob = .missing
        case .file(let size) where size == file.sizeBytes && !Self.existingBlobMatches(folder + "/blobs/" + file.blobID, file):
            blob = .other
        case .file(let size): blob = .file(sizeBytes: size)
        default: blob = .other
        }
        return HubFileObservation(pointer: pointer, blob: blob)
    }

    /// Whether a blob already in the cache (of the right size) may be kept for `file`. A git
    /// blob (a small file) is hashed, so a wrong one is replaced; an LFS blob of the right
    /// size is trusted by its name, as huggingface_hub does (re-hashing gigabytes at every
    /// pull would cost more than the pull). Blocking.
    static func existingBlobMatches(_ path: String, _ file: HubCacheFile) -> Bool {
        if isLFSBlobID(file.blobID) { return true }
        guard let digests = try? HubFileDigests.compute(path: path) else { return false }
        return digests.match(file)
    }

    /// Puts `file`'s blob into the cache from `sourcePath` under the blob's lock: reused when
    /// a blob of the right size is there (a git blob: with the right bytes), else hard-linked (or, across file systems, copied)
    /// to a temporary name in `blobs/` and renamed into place, so no reader ever sees half a
    /// blob. The source is checked first: its size, SHA-256 and git blob id (a non-LFS
    /// file's SHA-1 is always computed; `sha256Verified` spares re-hashing an LFS file a pull
    /// just verified). Blocking.
    @discardableResult
    public func installBlob(
        _ file: HubCacheFile, repositoryID: String, from sourcePath: String, sha256Verified: Bool
    ) throws(StoreError) -> HubBlobInstall {
        if let problem = file.problem { throw StoreError(.corrupt, problem) }
        guard let folder = repositoryFolder(repositoryID) else { throw StoreError(.conflict, "invalid repository id \(repositoryID)") }
        try FileIO.makeDirectory(folder)
        try Self.ensureRealDirectory(folder + "/blobs")
        let blob = folder + "/blobs/" + file.blobID
        return try withBlobLock(repositoryID: repositoryID, blobID: file.blobID) { () throws(StoreError) -> HubBlobInstall in
            if case .file(let size) = Self.kind(blob), size == file.sizeBytes, Self.existingBlobMatches(blob, file) { return .reused }
            let source = try FileIO.stat(sourcePath)
            guard source.size == file.sizeBytes else {
                throw StoreError(.corrupt, "\(sourcePath) has \(source.size) bytes, \(file.path) has \(file.sizeBytes)")
            }
            if !(sha256Verified && Self.isLFSBlobID(file.blobID)) {
                let digests = try HubFileDigests.compute(path: sourcePath)
                guard digests.match(file) else {
                    throw StoreError(
                        .corrupt,
                        "\(sourcePath) is not \(file.path): sha256 \(digests.sha256), git blob \(digests.gitBlobID), expected \(file.sha256) / \(file.blobID)"
                    )
                }
            }
            return try Self.place(sourcePath, at: blob, size: file.sizeBytes)
        }
    }

    /// Puts the file `source` at `destination` (whose folder exists) in one rename: hard-linked
    /// to a temporary name beside it, or copied there when the file systems differ (or have
    /// no hard links), then renamed over whatever was there. Blocking.
    package static func place(_ source: String, at destination: String, size: Int64) throws(StoreError) -> HubBlobInstall {
        let temporary = FileIO.temporaryName(for: destination)
        defer { unlink(temporary) }
        let how: HubBlobInstall
        if link(source, temporary) == 0 {
            how = .linked
        } else {
            let code = errno
            guard [EXDEV, EPERM, EOPNOTSUPP, EMLINK, ENOTSUP].contains(code) else { throw StoreError.posix(code, "link", path: temporary) }
            try copy(source, to: temporary, size: size)
            how = .copied
        }
        try FileIO.rename(temporary, destination)
        try FileIO.fsyncDirectory((destination as NSString).deletingLastPathComponent)
        return how
    }

    /// What `snapshots/{revision}/{path}` holds when that is another file of the commit: a
    /// symlink into the repository's `blobs/` naming an existing blob other than `file`'s, or
    /// a regular file. Nil when the pointer is missing, is `file`'s already, or names nothing
    /// that exists (a broken or stray link, which an install repairs). A commit never
    /// changes, so such a pointer is never replaced: a source offering other bytes for it is
    /// wrong about the commit. Blocking.
    public func heldFileConflict(_ file: HubCacheFile, repositoryID: String, revision: String) -> String? {
        guard file.problem == nil, let folder = repositoryFolder(repositoryID),
            let snapshot = snapshotFolder(repositoryID: repositoryID, revision: revision)
        else { return nil }
        let pointer = snapshot + "/" + file.path
        switch Self.kind(pointer) {
        case .symlink:
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: pointer),
                target != Self.symlinkTarget(path: file.path, blobID: file.blobID)
            else { return nil }
            let prefix = Self.symlinkTarget(path: file.path, blobID: "")
            guard target.hasPrefix(prefix) else { return nil }
            let held = String(target.dropFirst(prefix.count))
            guard Self.isValidBlobID(held), case .file = Self.kind(folder + "/blobs/" + held) else { return nil }
            return "\(pointer) is blob \(held) already, not \(file.blobID)"
        case .file:
            return "\(pointer) is a file of this commit already (not a link to blob \(file.blobID))"
        default:
            return nil
        }
    }

    /// Makes `snapshots/{revision}/{path}` the relative symlink to its blob. Every folder on
    /// the way must be a real folder inside the repository's (a symlink or file there is
    /// refused, so nothing is written through it). A pointer already there that holds
    /// another file of the commit (`heldFileConflict`) is refused with `conflict` and kept;
    /// one naming nothing that exists is replaced in one rename, never followed. Blocking.
    public func linkSnapshotFile(_ file: HubCacheFile, repositoryID: String, revision: String) throws(StoreError) {
        if let problem = file.problem { throw StoreError(.corrupt, problem) }
        guard let folder = repositoryFolder(repositoryID), let snapshot = snapshotFolder(repositoryID: repositoryID, revision: revision)
        else {
            throw StoreError(.conflict, "invalid repository id \(repositoryID) or revision \(revision)")
        }
        try FileIO.makeDirectory(folder)
        var directory = folder + "/snapshots"
        try Self.ensureRealDirectory(directory)
        directory += "/" + revision
        try Self.ensureRealDirectory(directory)
        let segments = file.path.split(separator: "/").map(String.init)
        for segment in segments.dropLast() {
            directory += "/" + segment
            try Self.ensureRealDirectory(directory)
        }
        let pointer = snapshot + "/" + file.path
        let target = Self.symlinkTarget(path: file.path, blobID: file.blobID)
        switch Self.kind(pointer) {
        case .symlink:
            if (try? FileManager.default.destinationOfSymbolicLink(atPath: pointer)) == target { return }
        case .directory:
            throw StoreError(.conflict, "\(pointer) is a folder, where \(file.path) goes")
        default: break
        }
        if let held = heldFileConflict(file, repositoryID: repositoryID, revision: revision) {
            throw StoreError(.conflict, "\(held): a commit never changes, the file is kept")
        }
        let temporary = FileIO.temporaryName(for: pointer)
        guard symlink(target, temporary) == 0 else { throw StoreError.posix(errno, "create symlink", path: temporary) }
        do {
            try FileIO.rename(temporary, pointer)
        } catch {
            unlink(temporary)
            throw error
        }
        try FileIO.fsyncDirectory(directory)
    }

    /// Writes `refs/{ref}` naming `revision` (no trailing newline, as `huggingface_hub`
    /// writes it), atomically; leaves it alone when it already says so. Blocking.
    public func writeRef(_ ref: String, revision: String, repositoryID: String) throws(StoreError) {
        guard Self.isValidRefName(ref), Self.isValidRevision(revision), let folder = repositoryFolder(repositoryID) else {
            throw StoreError(.conflict, "invalid ref \(ref.debugDescription) or revision \(revision.debugDescription)")
        }
        try FileIO.makeDirectory(folder)
        var directory = folder + "/refs"
        try Self.ensureRealDirectory(directory)
        for segment in ref.split(separator: "/").dropLast() {
            directory += "/" + segment
            try Self.ensureRealDirectory(directory)
        }
        let path = folder + "/refs/" + ref
        switch Self.kind(path) {
        case .file:
            if let data = FileManager.default.contents(atPath: path), String(decoding: data, as: UTF8.self) == revision { return }
        case .missing: break
        case .symlink, .directory, .other:
            throw StoreError(.conflict, "\(path) is not a ref file")
        }
        try FileIO.writeAtomically(Data(revision.utf8), to: path)
    }

    // MARK: - File system helpers

    package enum Kind: Equatable {
        case missing, file(Int64), directory, symlink, other
    }

    /// What is at `path`, not following a symlink there.
    package static func kind(_ path: String) -> Kind {
        var info = stat()
        guard lstat(path, &info) == 0 else { return errno == ENOENT || errno == ENOTDIR ? .missing : .other }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file(Int64(info.st_size))
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    /// Creates `path` as a folder, or checks it is one: a symlink or a file there is refused.
    package static func ensureRealDirectory(_ path: String) throws(StoreError) {
        switch kind(path) {
        case .directory: return
        case .missing:
            if mkdir(path, 0o755) == 0 || (errno == EEXIST && kind(path) == .directory) { return }
            throw StoreError.posix(errno, "create folder", path: path)
        default:
            throw StoreError(.conflict, "\(path) is not a folder (a symlink or a file is never written through)")
        }
    }

    /// Copies `source` to the new file `destination` in 1 MiB pieces, then fsyncs it.
    static func copy(_ source: String, to destination: String, size: Int64) throws(StoreError) {
        let input = try FileIO.open(source, flags: O_RDONLY)
        defer { FileIO.close(input) }
        let output = try FileIO.open(destination, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o644)
        defer { FileIO.close(output) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        while offset < size {
            let count = try FileIO.pread(input, into: buffer, offset: offset, path: source)
            if count == 0 { break }
            try FileIO.pwrite(output, UnsafeRawBufferPointer(rebasing: buffer[0..<count]), offset: offset, path: destination)
            offset += Int64(count)
        }
        guard offset == size else { throw StoreError(.io, "\(source) ended at \(offset) of \(size) bytes") }
        try FileIO.fsync(output, path: destination)
    }
}
