import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Lock files the store may remove: every holder checks, once its `flock` is granted, that
/// the path still names the file it locked (else the file was removed meanwhile and the lock
/// guards nothing: it opens the path again). So a holder can unlink the file before it lets
/// go, and a waiter that opened the old file retries on the new one instead of entering
/// beside its opener. Only a holder unlinks, once its critical section is over, so the path
/// never names two locked files at once: whoever locks the next file enters after it.
///
/// The Hugging Face cache's `.locks/` are not such files: `huggingface_hub` (through the
/// `filelock` package) never checks, so unlinking one there would let a Python download and
/// this node's install write the same blob at once. Those stay in place, as there.
extension FileIO {
    /// Opens `path` (created if needed) and takes its `flock`, exclusive or shared, waiting
    /// for it or not. Returns the descriptor holding it (closing it releases the lock), or nil
    /// when `wait` is false and another holder conflicts. Blocking when `wait` is true.
    package static func lockFile(_ path: String, shared: Bool = false, wait: Bool = true) throws(StoreError) -> Int32? {
        let operation = (shared ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB)
        while true {
            let fd = try open(path, flags: O_RDWR | O_CREAT)
            var failure: Int32 = 0
            while flock(fd, operation) != 0 {
                failure = errno
                if failure != EINTR { break }
                failure = 0
            }
            if failure != 0 {
                close(fd)
                if failure == EWOULDBLOCK { return nil }
                throw StoreError.posix(failure, "lock", path: path)
            }
            let locked: Stat
            do { locked = try fstat(fd) } catch {
                close(fd)
                throw error
            }
            if let current = try? stat(path), current.inode == locked.inode, current.device == locked.device {
                return fd
            }
            close(fd)
        }
    }

    /// Runs `body` holding the exclusive lock of `path` (created if needed, waiting for
    /// another holder), then unlinks the lock file before letting go, whether `body` returned
    /// or threw: the last holder leaves no file behind. A waiter on the unlinked file re-checks
    /// and takes the path's next file (see the type's notes), so holders stay one at a time.
    /// Blocking.
    package static func withLockRemovingFile<T>(_ path: String, _ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        guard let fd = try lockFile(path) else { throw StoreError(.io, "\(path) could not be locked") }
        defer {
            removeLockFile(path, heldBy: fd)
            close(fd)
        }
        return try body()
    }

    /// Unlinks the lock file at `path` when it is the file `fd` holds (the holder's side of
    /// the type's notes: only a holder unlinks, and only the file the path still names, not
    /// one made there since by another). Call it before letting go of `fd`. Returns whether
    /// it unlinked the file.
    @discardableResult
    package static func removeLockFile(_ path: String, heldBy fd: Int32) -> Bool {
        guard let held = try? fstat(fd), let current = try? stat(path), current.inode == held.inode, current.device == held.device
        else { return false }
        return unlink(path) == 0
    }

    /// Removes the lock file at `path` when nobody holds nor waits on it: takes it without
    /// waiting, unlinks it while holding it, then lets go. A lock another holder has stays.
    /// Returns whether it was removed (or was not there). Blocking for one `open`.
    @discardableResult
    package static func removeLockFile(_ path: String) -> Bool {
        guard (try? stat(path)) != nil else { return true }
        guard let fd = try? lockFile(path, wait: false) else { return false }
        defer { close(fd) }
        return unlink(path) == 0 || errno == ENOENT
    }
}
