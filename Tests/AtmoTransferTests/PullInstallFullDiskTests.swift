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
                    #expect(Bitfield(count: size / (64 * 1024), bytes: record.writtenPieces).setCount == size / (64 * 1024))

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
}
