import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

/// A queued download read back after a restart shows what its partial holds.
@Suite(.timeLimit(.minutes(2)))
struct DownloadHeldBytesTests {
    /// A download its user paused, whose partial holds 3 of 5 pieces (the last one short),
    /// lists those bytes as done after a restart, not 0.
    @Test func aPausedDownloadRestoredAfterARestartShowsTheBytesItsPartialHolds() async throws {
        try await withTemporaryDirectory { directory in
            let state = directory.sub("node")
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            let sha256 = String(repeating: "ab", count: 32)
            let pieceSize: Int64 = 1 << 20
            let size = 4 * pieceSize + 1000
            let partial = directory.sub("held.part")
            #expect(FileManager.default.createFile(atPath: partial, contents: nil))
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: partial))
            try handle.truncate(atOffset: UInt64(size))
            try handle.close()
            do {
                let database = try StateDatabase(path: state + "/atmo.sqlite")
                let entry = ModelEntry(modelID: "held.gguf", name: "held", type: "llm", format: "gguf", sizeBytes: size, sha256: sha256)
                // Pieces 0, 2 and 4 (the short last one).
                let pieces: [UInt8] = [0b0001_0101]
                try database.saveDownload(
                    DownloadRecord(
                        entry: entry, pieceSize: pieceSize, partialPath: partial, sourceURL: "http://127.0.0.1:1", durablePieces: pieces,
                        writtenPieces: pieces, bootID: DownloadRecord.currentBootID))
                try database.saveQueuedDownload(
                    QueuedDownload(
                        requestID: "paused-by-an-earlier-run", modelID: "held.gguf", sha256: sha256, preferredNode: nil, createdAtMs: 1,
                        pausedBy: DownloadAPI.PausedBy.user.rawValue))
            }
            try await withMeshNode(stateDirectory: state, folders: []) { node in
                let answer = try await Client.get(node.baseURL + DownloadAPI.path)
                let list = try JSONDecoder().decode(DownloadAPI.StatusList.self, from: Data(answer.body))
                let status = try #require(list.downloads.first { $0.requestID == "paused-by-an-earlier-run" })
                #expect(status.paused == true && status.state == .queued, "\(status)")
                #expect(status.bytesDone == 2 * pieceSize + 1000, "\(status)")
                #expect(status.totalBytes == size, "\(status)")
            }
        }
    }
}
