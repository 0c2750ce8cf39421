import AtmoTesting
import Foundation
import Synchronization
import Testing

@testable import AtmoStore

/// Lock files a holder may unlink (`FileIO+LockFiles`), on real files and threads: a waiter
/// that opened the removed file never enters beside the one that locks its successor.
struct RemovableLockFileTests {
    @Test func removingTheLockFileWhileOthersWaitKeepsThemApart() async throws {
        let directory = try TemporaryDirectory(prefix: "atmo-lock")
        defer { directory.remove() }
        let path = directory.path + "/x.install.lock"
        let counters = Counters()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    try await BlockingIO.run {
                        for round in 0..<150 {
                            try FileIO.withLock(path) { () throws(StoreError) in
                                if counters.inside.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue != 1 {
                                    counters.overlaps.wrappingAdd(1, ordering: .relaxed)
                                }
                                counters.entries.wrappingAdd(1, ordering: .relaxed)
                                usleep(UInt32(50 + (worker * 37 + round * 11) % 200))
                                counters.inside.wrappingSubtract(1, ordering: .sequentiallyConsistent)
                            }
                            // A tidier removing the file whenever it is free.
                            FileIO.removeLockFile(path)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(counters.entries.load(ordering: .relaxed) == 600)
        #expect(counters.overlaps.load(ordering: .relaxed) == 0, "two holders were inside at once")
    }

    final class Counters: Sendable {
        let inside = Atomic<Int>(0)
        let overlaps = Atomic<Int>(0)
        let entries = Atomic<Int>(0)
    }

    /// `withLockRemovingFile` unlinks only the file it holds: a file made at the path
    /// meanwhile (after its own was removed) stays, with its holder.
    @Test func aLockFileMadeAgainMeanwhileIsNotRemoved() throws {
        let directory = try TemporaryDirectory(prefix: "atmo-lock")
        defer { directory.remove() }
        let path = directory.path + "/w.lock"
        let next = try FileIO.withLockRemovingFile(path) { () throws(StoreError) -> Int32? in
            unlink(path)
            return try FileIO.lockFile(path, wait: false)
        }
        let holder = try #require(next, "the path's next file")
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(try FileIO.lockFile(path, wait: false) == nil, "still held by its holder")
        FileIO.close(holder)
        // The file it holds goes.
        try FileIO.withLockRemovingFile(path) { () throws(StoreError) in }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func aHeldLockFileIsNotRemoved() throws {
        let directory = try TemporaryDirectory(prefix: "atmo-lock")
        defer { directory.remove() }
        let path = directory.path + "/y.lock"
        let holder = try #require(try FileIO.lockFile(path))
        #expect(!FileIO.removeLockFile(path))
        #expect(FileManager.default.fileExists(atPath: path))
        let reader = try #require(try FileIO.lockFile(directory.path + "/z.lock", shared: true))
        let second = try #require(try FileIO.lockFile(directory.path + "/z.lock", shared: true), "shared holders share")
        #expect(try FileIO.lockFile(directory.path + "/z.lock", wait: false) == nil)
        FileIO.close(reader)
        FileIO.close(second)
        FileIO.close(holder)
        #expect(FileIO.removeLockFile(path))
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(FileIO.removeLockFile(path), "not there: nothing to do")
        #expect(!FileManager.default.fileExists(atPath: path), "and nothing created")
    }
}
