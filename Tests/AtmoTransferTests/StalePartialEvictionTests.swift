import AtmoProtocol
import AtmoTesting
import Foundation
import Logging
import Testing

@testable import AtmoStore
@testable import AtmoTransfer

/// Stale partials on real files: a pull that needs room deletes the partials no download
/// uses (file, lock file and resume record), the least recently written first, before any
/// model; a partial whose download is queued or paused, one not pinned to a version yet
/// but of a queued model, and one whose pull holds its lock stay.
struct StalePartialEvictionTests {
    static let mib = StorageAdmissionTests.mib

    /// A partial of `size` MiB for `digit`'s SHA-256, written at `writtenAt`, with its resume record.
    static func partial(
        _ digit: Character, mib size: Int64, writtenAt: Double, in store: LocalModelStore, database: StateDatabase
    ) throws -> ModelEntry {
        let entry = StorageAdmissionTests.entry("\(digit)-partial.gguf", mib: size, digit: digit)
        try store.prepare()
        let path = store.partialPath(sha256: entry.sha256)
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(entry.sizeBytes))
        try handle.close()
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: writtenAt)], ofItemAtPath: path)
        try database.saveDownload(
            DownloadRecord(
                entry: entry, pieceSize: 1 << 20, partialPath: path, sourceURL: "http://127.0.0.1:1", durablePieces: [0b1],
                writtenPieces: [0b1], bootID: DownloadRecord.currentBootID))
        return entry
    }

    @Test("a pull that needs room deletes the oldest stale partials first, and keeps queued, paused and running ones")
    func stalePartialsAreEvicted() async throws {
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("models"))
            let database = try StateDatabase()
            let old = try Self.partial("a", mib: 4, writtenAt: 1_000, in: store, database: database)
            let newer = try Self.partial("b", mib: 4, writtenAt: 2_000, in: store, database: database)
            let paused = try Self.partial("c", mib: 4, writtenAt: 500, in: store, database: database)
            let running = try Self.partial("d", mib: 2, writtenAt: 400, in: store, database: database)
            let unpinned = try Self.partial("f", mib: 1, writtenAt: 300, in: store, database: database)
            let model = StorageAdmissionTests.entry("m-model.gguf", mib: 2, digit: "9")
            try StorageAdmissionTests.install(model, in: store, database: database, usedAt: 100)
            // A download paused for a more urgent one, and one not pinned to a version yet.
            try database.saveQueuedDownload(
                QueuedDownload(requestID: "paused", modelID: paused.modelID, sha256: paused.sha256, preferredNode: nil, createdAtMs: 1))
            try database.saveQueuedDownload(
                QueuedDownload(requestID: "unpinned", modelID: unpinned.modelID, sha256: nil, preferredNode: nil, createdAtMs: 2))
            // A pull under way holds its lock.
            let lock = try #require(try FileIO.tryLock(store.lockPath(sha256: running.sha256)))
            defer { FileIO.close(lock) }

            // 17 MiB used of 18: a pull of 6 MiB needs 5 more, which the two stale partials free.
            let admission = StorageAdmission(
                configuration: StorageConfiguration(limitBytes: 18 * Self.mib), database: database, meshCopies: { [model.sha256: 1] },
                logger: StorageAdmissionTests.logger)
            // The status takes no locks (a pull starting then must not fail): the pull of
            // another process is not told from a stale partial there.
            let before = try admission.status(of: store)
            #expect(before.stalePartials.map(\.sha256).sorted() == [old.sha256, newer.sha256, running.sha256])
            #expect(before.status.evictableBytes == 12 * Self.mib)
            let ticket = try admission.admit(StorageAdmissionTests.entry("e-new.gguf", mib: 6, digit: "e"), into: store)
            defer { ticket.end() }
            for gone in [old, newer] {
                #expect(!FileManager.default.fileExists(atPath: store.partialPath(sha256: gone.sha256)))
                #expect(!FileManager.default.fileExists(atPath: store.lockPath(sha256: gone.sha256)))
                #expect(try database.download(sha256: gone.sha256) == nil)
            }
            for kept in [paused, running, unpinned] {
                #expect(FileManager.default.fileExists(atPath: store.partialPath(sha256: kept.sha256)), "\(kept.modelID)")
                #expect(try database.download(sha256: kept.sha256) != nil, "\(kept.modelID)")
            }
            #expect(store.installed(modelID: model.modelID) != nil)

            // Nothing stale is left: a pull that needs more than the model frees is refused.
            #expect(throws: TransferError.self) {
                try admission.admit(StorageAdmissionTests.entry("g-big.gguf", mib: 6, digit: "7"), into: store)
            }
            #expect(FileManager.default.fileExists(atPath: store.partialPath(sha256: paused.sha256)))
            #expect(store.installed(modelID: model.modelID) != nil)
        }
    }
}
