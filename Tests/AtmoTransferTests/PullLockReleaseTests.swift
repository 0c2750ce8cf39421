import AtmoTesting
import Foundation
import Testing

@testable import AtmoStore
@testable import AtmoTransfer

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The end of a pull lets go of the artefact's lock (`PartialDownload.releaseLock`): its
/// `<sha>.lock` goes when no partial is left (a partial discarded after a failed hash
/// check left one for ever), stays with a kept partial, and is removed only while the path
/// names the file the pull holds.
struct PullLockReleaseTests {
    static let sha256 = String(repeating: "c", count: 64)

    /// The store, prepared, and the pull's lock on `sha256`.
    static func lockedStore(_ directory: TemporaryDirectory) throws -> (LocalModelStore, Int32) {
        let store = LocalModelStore(directory: directory.sub("models"))
        try store.prepare()
        let fd = try #require(try FileIO.tryLock(store.lockPath(sha256: sha256)))
        return (store, fd)
    }

    @Test("no partial left (discarded or installed): the lock file goes, and the lock is free")
    func noPartialNoLockFile() async throws {
        try await withTemporaryDirectory { directory in
            let (store, fd) = try Self.lockedStore(directory)
            let lockPath = store.lockPath(sha256: Self.sha256)
            #expect(FileManager.default.fileExists(atPath: lockPath))
            PartialDownload.releaseLock(fd, sha256: Self.sha256, in: store)
            #expect(!FileManager.default.fileExists(atPath: lockPath))
            let again = try #require(try FileIO.tryLock(lockPath))
            FileIO.close(again)
        }
    }

    @Test("a kept partial keeps its lock file (the next pull resumes it)")
    func aKeptPartialKeepsItsLockFile() async throws {
        try await withTemporaryDirectory { directory in
            let (store, fd) = try Self.lockedStore(directory)
            #expect(FileManager.default.createFile(atPath: store.partialPath(sha256: Self.sha256), contents: Data(count: 16)))
            PartialDownload.releaseLock(fd, sha256: Self.sha256, in: store)
            #expect(FileManager.default.fileExists(atPath: store.lockPath(sha256: Self.sha256)))
            let again = try #require(try FileIO.tryLock(store.lockPath(sha256: Self.sha256)), "released")
            FileIO.close(again)
        }
    }

    @Test("a lock file that is not the one held (removed and made again meanwhile) stays")
    func anotherLockFileStays() async throws {
        try await withTemporaryDirectory { directory in
            let (store, fd) = try Self.lockedStore(directory)
            let lockPath = store.lockPath(sha256: Self.sha256)
            unlink(lockPath)
            let other = try #require(try FileIO.tryLock(lockPath), "the path's next file")
            PartialDownload.releaseLock(fd, sha256: Self.sha256, in: store)
            #expect(FileManager.default.fileExists(atPath: lockPath))
            #expect(try FileIO.tryLock(lockPath) == nil, "still held by its holder")
            FileIO.close(other)
        }
    }
}
