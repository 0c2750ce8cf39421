import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

@testable import AtmoStore
@testable import AtmoTransfer

/// A repository download of the queue (paused, or stopped by a restart) continues from the
/// partial of the file it was on: that partial is in use, not stale, though the queue row
/// names the repository, not the file.
struct StalePartialRepositoryTests {
    static let mib = StorageAdmissionTests.mib

    @Test("the partial of a queued repository download's file is kept when a pull needs room; a stale one goes")
    func aRepositoryDownloadsPartialIsNotStale() async throws {
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("models"))
            let database = try StateDatabase()
            // The repository's file: the oldest partial, first in line were it stale.
            let file = try StalePartialEvictionTests.partial("a", mib: 4, writtenAt: 100, in: store, database: database)
            let stale = try StalePartialEvictionTests.partial("b", mib: 4, writtenAt: 2_000, in: store, database: database)
            try database.saveQueuedDownload(
                QueuedDownload(
                    requestID: "repository", modelID: "org--name", sha256: nil, preferredNode: nil, createdAtMs: 1,
                    pausedBy: "user", kind: "repository", repository: DownloadAPI.Repository(revision: String(repeating: "c", count: 40)),
                    fileSHA256s: [file.sha256, String(repeating: "d", count: 64)]))
            #expect(try database.queuedDownloads().first?.fileSHA256s.first == file.sha256)

            // 8 MiB used of 10: a pull of 4 MiB needs 2 more, which the stale partial frees.
            let admission = StorageAdmission(
                configuration: StorageConfiguration(limitBytes: 10 * Self.mib), database: database, meshCopies: { [:] },
                logger: StorageAdmissionTests.logger)
            let ticket = try admission.admit(StorageAdmissionTests.entry("e-new.gguf", mib: 4, digit: "e"), into: store)
            defer { ticket.end() }
            #expect(!FileManager.default.fileExists(atPath: store.partialPath(sha256: stale.sha256)))
            #expect(FileManager.default.fileExists(atPath: store.partialPath(sha256: file.sha256)))
            #expect(try database.download(sha256: file.sha256) != nil)
        }
    }
}
