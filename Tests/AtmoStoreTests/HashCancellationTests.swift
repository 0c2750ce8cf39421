import AtmoTesting
import Foundation
import Logging
import Synchronization
import Testing

@testable import AtmoStore

/// Blocking work runs on `BlockingIO`'s thread pool, and a cancelled hash stops within one
/// read instead of running to the end of the file (issue 9, item 15).
struct HashCancellationTests {
    /// A sparse file with a GGUF header: hashing all of it takes many seconds, creating it none.
    static func writeLargeSparseModel(at path: String, size: Int64) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: Data("GGUF".utf8) + Data([3, 0, 0, 0]))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.truncate(atOffset: UInt64(size))
    }

    final class ReadCounter: Sendable {
        let reads = Atomic<Int>(0)
    }

    @Test("a hash on the pool stops at the next 4 MiB read once its task is cancelled")
    func cancelledHashStopsEarly() async throws {
        try await withTemporaryDirectory { root in
            let path = root.sub("large.gguf")
            let size: Int64 = 16 << 30
            try Self.writeLargeSparseModel(at: path, size: size)
            let counter = ReadCounter()
            let hashing = Task {
                try await BlockingIO.shared.run { cancellation in
                    try FileHasher.sha256(
                        path: path,
                        isCancelled: {
                            counter.reads.add(1, ordering: .relaxed)
                            return cancellation.isCancelled
                        })
                }
            }
            let deadline = ContinuousClock.now + .seconds(30)
            while counter.reads.load(ordering: .relaxed) < 4, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            hashing.cancel()
            let outcome = await hashing.result
            #expect(throws: CancellationError.self) { try outcome.get() }
            let reads = counter.reads.load(ordering: .relaxed)
            #expect(reads < Int(size / Int64(FileHasher.bufferSize)), "read \(reads) of \(size / Int64(FileHasher.bufferSize)) blocks")
        }
    }

    @Test("cancelling a scan stops the hash of a large new file: nothing is advertised or remembered")
    func cancelledRefreshStopsHashing() async throws {
        try await withTemporaryDirectory { root in
            let folder = root.sub("extra")
            try Self.writeLargeSparseModel(at: folder + "/large.gguf", size: 16 << 30)
            let database = try StateDatabase()
            let inventory = Inventory(
                roots: ScanRoots(extraFolders: [URL(fileURLWithPath: folder)]), database: database,
                logger: Logger(label: "atmo.test", factory: { _ in SwiftLogNoOpLogHandler() }))
            let scanning = Task { try await inventory.refresh() }
            // Once the file is listed its hash comes next; the pause only makes it likely that
            // the hash is under way (it must stop either way).
            let deadline = ContinuousClock.now + .seconds(30)
            while inventory.pendingHashCount == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            try await Task.sleep(for: .milliseconds(100))
            scanning.cancel()
            let outcome = await scanning.result
            #expect(throws: CancellationError.self) { try outcome.get() }
            #expect(inventory.entries.isEmpty)
            #expect(inventory.completedScans == 0)
            #expect(try database.allCachedHashes().isEmpty)
        }
    }
}
