import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoNode

/// `bytes_done` across a pause and a resume: not below what the partial holds, not above it
/// once the run has stopped.
@Suite struct DownloadProgressFloorTests {
    /// A resumed run that checks its kept pieces again reports from 0 up: the status stays at
    /// the bytes the partial holds. A run that stops shows what the partial holds, not the
    /// bytes it had in flight.
    @Test func bytesDoneDoesNotStepBackWhenARunResumesAndShowsOnlyHeldBytesWhenItStops() async throws {
        try await withTemporaryDirectory { directory in
            let database = try StateDatabase(path: directory.sub("atmo.sqlite"))
            let sha256 = String(repeating: "cd", count: 32)
            let pieceSize: Int64 = 1 << 20
            let size = 8 * pieceSize
            let partial = directory.sub("floor.part")
            #expect(FileManager.default.createFile(atPath: partial, contents: nil))
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: partial))
            try handle.truncate(atOffset: UInt64(size))
            try handle.close()
            let entry = ModelEntry(modelID: "floor.gguf", name: "floor", type: "llm", format: "gguf", sizeBytes: size, sha256: sha256)
            // Pieces 0-4 held: 5 MiB.
            let pieces: [UInt8] = [0b0001_1111]
            try database.saveDownload(
                DownloadRecord(
                    entry: entry, pieceSize: pieceSize, partialPath: partial, sourceURL: "http://127.0.0.1:1", durablePieces: pieces,
                    writtenPieces: pieces, bootID: DownloadRecord.currentBootID))
            let manager = DownloadManager(database: database)
            defer { manager.shutdown() }
            let id = try manager.start(DownloadAPI.Start(modelID: "floor.gguf", sha256: sha256))

            let run = try #require(manager.beginRun(id))
            _ = run
            // The resumed run checks the kept pieces again, counting from 0.
            manager.update(id) { status in
                status.state = .verifying
                status.bytesDone = pieceSize
                status.totalBytes = size
            }
            #expect(manager.status(of: id)?.bytesDone == 5 * pieceSize)
            manager.update(id) { $0.bytesDone = 6 * pieceSize + 500_000 }
            #expect(manager.status(of: id)?.bytesDone == 6 * pieceSize + 500_000)

            // It stops (pause, preemption) with 1.5 MiB in flight that were never written.
            manager.endRun(id, mayRunAgain: false)
            #expect(manager.status(of: id)?.bytesDone == 5 * pieceSize)
        }
    }
}
