import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoTransfer

/// A disk that fills up between the transfer and the install (issue 9, item 5): the pull
/// fails with `storage_full`, installs nothing half-way, keeps the verified partial and its
/// record, and the next pull (with room) installs it without fetching a byte.
struct PullInstallFullDiskTests {
    @Test(.enabled(if: TmpfsMount.isAvailable, "needs root on Linux to mount a tmpfs (a real full disk)"))
    func fullDiskAtInstallKeepsAResumablePartial() async throws {
        try await withTemporaryDirectory { directory in
            let folder = directory.sub("shared")
            let size = 1 << 20
            let sha = try ModelFixtures.writeModel(at: folder + "/exact.gguf", size: size, seed: 41, header: .gguf)
            let database = try StateDatabase()
            // The partial takes every page of the disk, so the transfer fits and the sidecar does not.
            try await TmpfsMount.with(at: directory.sub("disk"), bytes: Int64(size)) { disk in
                let store = LocalModelStore(directory: disk.path)
                try await withMeshNode(stateDirectory: directory.sub("provider"), folders: [folder]) { node in
                    let entry = try PullHarness.onlyEntry(of: node)
                    #expect(entry.sha256 == sha)
                    let request = PullHarness.request(entry.modelID, from: node.baseURL, into: store)
                    try await PullHarness.withEngine(database: database) { engine in
                        let failure = try #require(await PullHarness.pull(engine, request).failure)
                        #expect(failure.code == .storageFull, "\(failure)")
                        #expect(failure.exitCode == 6)
                        #expect(failure.message.contains("the verified download is kept"), "\(failure.message)")
                    }
                    // Nothing installed half-way; what the message says is kept is kept.
                    #expect(!FileManager.default.fileExists(atPath: store.modelPath(for: entry)), "\(PullHarness.files(in: store))")
                    #expect(store.installed().isEmpty)
                    #expect(try ModelFixtures.sha256(of: store.partialPath(sha256: sha)) == sha)
                    let record = try #require(try database.download(sha256: sha))
                    let pieces = PieceManifest.pieceCount(fileSize: Int64(size), pieceSize: record.pieceSize)
                    #expect(pieces > 0 && Bitfield(count: pieces, bytes: record.writtenPieces).setCount == pieces)

                    // With room, the next pull installs the partial without fetching.
                    try disk.resize(bytes: 2 * Int64(size))
                    try await PullHarness.withEngine(database: database) { engine in
                        let result = try #require(await PullHarness.pull(engine, request).success)
                        #expect(result.bytesTransferred == 0)
                        #expect(!result.alreadyInstalled)
                        #expect(try ModelFixtures.sha256(of: result.path) == sha)
                    }
                    #expect(store.installed(modelID: entry.modelID)?.sha256 == sha)
                    #expect(PullHarness.partials(in: store).isEmpty)
                    #expect(try database.download(sha256: sha) == nil)
                }
            }
        }
    }

    /// A crashed install of another version leaves a staged sidecar; installing this version
    /// retires it with that version's partial, so no later scan can finish it over this one.
    @Test func installingRetiresAnotherVersionsStagedSidecar() async throws {
        try await withTemporaryDirectory { directory in
            let folder = directory.sub("shared")
            let size = 256 * 1024
            try ModelFixtures.writeModel(at: folder + "/evolving.gguf", size: size, seed: 43, header: .gguf)
            let store = LocalModelStore(directory: directory.sub("pulled"))
            try store.prepare()
            let database = try StateDatabase()
            try await withMeshNode(stateDirectory: directory.sub("provider"), folders: [folder]) { node in
                let current = try PullHarness.onlyEntry(of: node)
                // The older version of the same id, same size: verified, and its install cut
                // short after the sidecar was staged (partial, record and staged sidecar remain).
                var old = current
                old.sha256 = String(repeating: "0", count: 64)
                old.version = "old"
                let oldPartial = store.partialPath(sha256: old.sha256)
                try Data(count: size).write(to: URL(fileURLWithPath: oldPartial))
                try database.saveDownload(
                    DownloadRecord(
                        entry: old, pieceSize: 64 * 1024, partialPath: oldPartial, sourceURL: "http://127.0.0.1:1",
                        durablePieces: [], writtenPieces: [], bootID: DownloadRecord.currentBootID))
                let staged: [String: Any] = [
                    "model_id": old.modelID, "name": old.name, "type": old.type, "format": old.format, "size_bytes": size,
                    "sha256": old.sha256, "version": "old", "downloaded_from": "x", "downloaded_at": "2026-01-01T00:00:00Z",
                    "file_name": old.fileName,
                ]
                try JSONSerialization.data(withJSONObject: staged).write(to: URL(fileURLWithPath: store.stagedSidecarPath(sha256: old.sha256)))

                _ = try await PullHarness.withEngine(database: database) { engine in
                    try await engine.pull(PullHarness.request(current.modelID, from: node.baseURL, into: store))
                }
                #expect(!FileManager.default.fileExists(atPath: oldPartial))
                #expect(!FileManager.default.fileExists(atPath: store.stagedSidecarPath(sha256: old.sha256)))
                #expect(store.finishInterruptedInstalls().isEmpty)
                #expect(store.installed(modelID: current.modelID)?.sha256 == current.sha256)
            }
        }
    }
}
