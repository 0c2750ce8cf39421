import CAtmoSystem
import Foundation

#if canImport(Glibc)
import Glibc
private typealias SystemStat = Glibc.stat
#elseif canImport(Darwin)
import Darwin
private typealias SystemStat = Darwin.stat
#endif

// The C library's calls under names that `FileIO`'s own methods do not shadow (at file
// scope, `open` is the C function on every platform).
private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { open(path, flags, mode) }
private func systemFstat(_ fd: Int32, _ info: inout SystemStat) -> Int32 { fstat(fd, &info) }
private func systemPread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: off_t) -> Int {
    pread(fd, buffer, count, offset)
}
private func systemPwrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ offset: off_t) -> Int {
    pwrite(fd, buffer, count, offset)
}
private func systemFsync(_ fd: Int32) -> Int32 { fsync(fd) }
private func systemRename(_ from: String, _ to: String) -> Int32 { rename(from, to) }
private func systemClose(_ fd: Int32) { _ = close(fd) }
private func systemDuplicate(_ fd: Int32) -> Int32 { fcntl(fd, F_DUPFD_CLOEXEC, 0) }

/// The last-modification time of a stat result, in nanoseconds since 1970.
private func modificationNanos(_ info: SystemStat) -> Int64 {
    #if canImport(Darwin)
    let time = info.st_mtimespec
    #else
    let time = info.st_mtim
    #endif
    return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
}

/// Reserves `size` bytes for `fd`: 0 on success, else an errno.
private func preallocate(_ fd: Int32, size: Int64) -> Int32 {
    #if canImport(Darwin)
    // Darwin has no posix_fallocate: F_PREALLOCATE reserves the blocks past the end of the
    // file (the caller then sets the size with ftruncate).
    var store = fstore_t(
        fst_flags: UInt32(F_ALLOCATEALL), fst_posmode: Int32(F_PEOFPOSMODE), fst_offset: 0, fst_length: off_t(size),
        fst_bytesalloc: 0)
    return fcntl(fd, F_PREALLOCATE, &store) == -1 ? errno : 0
    #else
    // On tmpfs, reserving allocates and zeroes every page before the first byte arrives
    // (0.3 s per GiB here, all of it before the transfer starts); the writes allocate the
    // same pages as they go. There the free space is checked instead.
    if atmo_fd_is_tmpfs(fd) == 1 {
        var space = statvfs()
        guard fstatvfs(fd, &space) == 0 else { return errno }
        return Int64(space.f_bavail) * Int64(space.f_frsize) >= size ? 0 : ENOSPC
    }
    return posix_fallocate(fd, 0, off_t(size))
    #endif
}

/// Thin wrappers around the POSIX calls the store needs, each turning `errno` into a
/// `StoreError`. Everything here blocks: call it through `BlockingIO`, never from an
/// event loop or the cooperative pool.

package enum FileIO {
    /// Identity and freshness of a file, as the hash cache keys it.
    package struct Stat: Sendable, Hashable {
        package var size: Int64
        package var modificationTimeNanos: Int64
        package var inode: UInt64
        package var device: UInt64

        fileprivate init(_ info: SystemStat) {
            self.init(
                size: Int64(info.st_size),
                modificationTimeNanos: modificationNanos(info),
                inode: UInt64(info.st_ino),
                device: UInt64(info.st_dev))
        }

        package init(size: Int64, modificationTimeNanos: Int64, inode: UInt64, device: UInt64) {
            self.size = size
            self.modificationTimeNanos = modificationTimeNanos
            self.inode = inode
            self.device = device
        }
    }

    package static func stat(_ path: String) throws(StoreError) -> Stat {
        var info = SystemStat()
        guard fstatat(AT_FDCWD, path, &info, 0) == 0 else { throw StoreError.posix(errno, "stat", path: path) }
        return Stat(info)
    }

    package static func fstat(_ fd: Int32) throws(StoreError) -> Stat {
        var info = SystemStat()
        guard systemFstat(fd, &info) == 0 else { throw StoreError.posix(errno, "stat", path: "descriptor \(fd)") }
        return Stat(info)
    }

    package static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws(StoreError) -> Int32 {
        let fd = systemOpen(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw StoreError.posix(errno, "open", path: path) }
        return fd
    }

    /// A second descriptor of the same open file (close-on-exec), for an owner that closes
    /// it on its own schedule.
    package static func duplicate(_ fd: Int32, path: String) throws(StoreError) -> Int32 {
        let copy = systemDuplicate(fd)
        guard copy >= 0 else { throw StoreError.posix(errno, "dup", path: path) }
        return copy
    }

    /// Reads exactly up to `count` bytes at `offset` (fewer only at end of file).
    package static func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: Int64, path: String) throws(StoreError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = systemPread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError.posix(errno, "read", path: path)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all of `buffer` at `offset`.
    package static func pwrite(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, offset: Int64, path: String) throws(StoreError) {
        var done = 0
        while done < buffer.count {
            let n = systemPwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError.posix(errno, "write", path: path)
            }
            done += n
        }
    }

    package static func fsync(_ fd: Int32, path: String) throws(StoreError) {
        guard systemFsync(fd) == 0 else { throw StoreError.posix(errno, "fsync", path: path) }
    }

    /// fsyncs a directory so a rename inside it survives a crash.
    package static func fsyncDirectory(_ path: String) throws(StoreError) {
        let fd = try open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { systemClose(fd) }
        try fsync(fd, path: path)
    }

    /// Reserves `size` bytes so a full disk is found before the transfer, not at 99%.
    package static func reserve(_ fd: Int32, size: Int64, path: String) throws(StoreError) {
        guard size > 0 else { return }
        let result = preallocate(fd, size: size)
        // Some filesystems (tmpfs on old kernels, overlay) lack fallocate: not an error.
        if result != 0 && result != EOPNOTSUPP && result != EINVAL && result != ENOTSUP {
            throw StoreError.posix(result, "reserve space for", path: path)
        }
    }

    package static func rename(_ from: String, _ to: String) throws(StoreError) {
        guard systemRename(from, to) == 0 else { throw StoreError.posix(errno, "rename", path: to) }
    }

    package static func makeDirectory(_ path: String) throws(StoreError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            // The errno behind FileManager's error says what failed (EACCES, ENOSPC, ENOTDIR...).
            if let cause = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError, cause.domain == NSPOSIXErrorDomain {
                throw StoreError.posix(Int32(truncatingIfNeeded: cause.code), "create folder", path: path)
            }
            throw StoreError(.io, "cannot create folder \(path): \(error)", underlying: error)
        }
    }

    /// Writes `data` to `path` atomically and durably: temp file, fsync, rename, fsync folder.
    /// The file gets `mode` (before the umask).
    package static func writeAtomically(_ data: Data, to path: String, mode: mode_t = 0o644) throws(StoreError) {
        let temporary = temporaryName(for: path)
        let fd = try open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        do throws(StoreError) {
            var failure: StoreError?
            data.withUnsafeBytes { bytes in
                do throws(StoreError) { try pwrite(fd, bytes, offset: 0, path: temporary) } catch { failure = error }
            }
            if let failure { throw failure }
            try fsync(fd, path: temporary)
            systemClose(fd)
        } catch {
            systemClose(fd)
            unlink(temporary)
            throw error
        }
        try rename(temporary, path)
        try fsyncDirectory((path as NSString).deletingLastPathComponent)
    }

    /// Creates `path` with `data` (mode `mode`), durably, and never replaces a file that is
    /// already there: throws `conflict` then. Written to a temporary name, fsynced, then
    /// hard-linked into place (a link fails on an existing name, a rename would replace it);
    /// on a filesystem without hard links, renamed.
    package static func createNewFile(_ data: Data, at path: String, mode: mode_t) throws(StoreError) {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try makeDirectory(folder) }
        let temporary = temporaryName(for: path)
        let fd = try open(temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: mode)
        defer { unlink(temporary) }
        do throws(StoreError) {
            var failure: StoreError?
            data.withUnsafeBytes { bytes in
                do throws(StoreError) { try pwrite(fd, bytes, offset: 0, path: temporary) } catch { failure = error }
            }
            if let failure { throw failure }
            try fsync(fd, path: temporary)
            systemClose(fd)
        } catch {
            systemClose(fd)
            throw error
        }
        if link(temporary, path) != 0 {
            let code = errno
            if code == EEXIST { throw StoreError(.conflict, "\(path) already exists") }
            guard code == EPERM || code == EOPNOTSUPP else { throw StoreError.posix(code, "create", path: path) }
            try rename(temporary, path)
        }
        try fsyncDirectory(folder.isEmpty ? "." : folder)
    }

    /// A hidden sibling name for writing `path` before renaming it into place, unique per
    /// process and call (two threads writing the same file must not share a temporary).
    package static func temporaryName(for path: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        return (folder.isEmpty ? "" : folder + "/") + ".\(name).tmp-\(getpid())-\(UInt32.random(in: .min ... .max))"
    }

    /// Runs `body` holding an exclusive advisory lock on `path` (created if needed),
    /// waiting for another holder to finish. For short critical sections only. The file may
    /// be removed by a holder (`removeLockFile`): the lock is the one `path` names.
    package static func withLock<T>(_ path: String, _ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        guard let fd = try lockFile(path) else { throw StoreError(.io, "\(path) could not be locked") }
        defer { systemClose(fd) }
        return try body()
    }

    /// Takes an exclusive advisory lock on `path` (created if needed) without waiting.
    /// Returns the descriptor that holds the lock (closing it releases the lock, and so does
    /// the death of the process), or nil when another process holds it.
    ///
    /// A holder may unlink the lock file before releasing it (a finished download tidies
    /// up); a lock taken on such an unlinked file guards nothing, so the lock only counts
    /// when `path` still names the locked file, else it is taken again.
    package static func tryLock(_ path: String) throws(StoreError) -> Int32? {
        while true {
            let fd = try open(path, flags: O_RDWR | O_CREAT)
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let code = errno
                systemClose(fd)
                if code == EWOULDBLOCK { return nil }
                throw StoreError.posix(code, "lock", path: path)
            }
            let locked: Stat
            do { locked = try fstat(fd) } catch {
                systemClose(fd)
                throw error
            }
            if let current = try? stat(path), current.inode == locked.inode, current.device == locked.device {
                return fd
            }
            systemClose(fd)
        }
    }

    package static func close(_ fd: Int32) { systemClose(fd) }
}
