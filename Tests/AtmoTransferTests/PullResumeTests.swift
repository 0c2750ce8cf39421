import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoTransfer

/// Interrupted pulls: what a cancelled run keeps, and how the next run uses it (or,
/// when it cannot be trusted, does not).
@Suite(.serialized)
struct PullResumeTests {
    /// A pull cancelled part-way keeps its pieces and releases its lock; the next pull
    /// (here from the real provider, configured with another piece size) fetches only the rest.
    @Test func interruptedPullResumes() async throws {
        try await withTemporaryDirectory { directory in
            let folder = directory.sub("shared")
            let source = folder + "/resumable.gguf"
            let size = 4 * 1024 * 1024
            try ModelFixtures.writeModel(at: source, size: size, seed: 13, header: .gguf)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
            let store = LocalModelStore(directory: directory.sub("pulled"))
            let database = try StateDatabase()
            try await withMeshNode(stateDirectory: directory.sub("provider"), folders: [folder]) { node in
                let entry = try PullHarness.onlyEntry(of: node)
                // The first run talks to a peer that answers 12 pieces, then goes silent.
                let gated = FakePeer(entry: entry, bytes: bytes) { $0.number < 12 ? .honest : .hold }
                var syncing = PullHarness.configuration(connections: 2, stallTimeout: 60)
                syncing.syncEveryBytes = 256 * 1024
                let configuration = syncing
                try await withFakePeer(gated) { gatedURL in
                    try await PullHarness.withEngine(configuration, database: database) {
                        engine in
                        let pulling = Task {
                            await PullHarness.pull(engine, PullHarness.request(entry.modelID, from: gatedURL, into: store))
                        }
                        // 14 requests: each connection asks for its next piece only after writing
                        // the last one, so the 12 honest pieces are written and both connections hang.
                        try await withDeadline(60) {
                            while gated.log.pieces.count < 14 { try await Task.sleep(for: .milliseconds(10)) }
                        }
                        // More than `syncEveryBytes` arrived: the pieces are fsynced and recorded
                        // as durable (they would survive a power cut) within a tick.
                        try await withDeadline(60) {
                            while try database.download(sha256: entry.sha256).map({ Bitfield(count: 64, bytes: $0.durablePieces).setCount })
                                != 12
                            {
                                try await Task.sleep(for: .milliseconds(20))
                            }
                        }
                        pulling.cancel()
                        let outcome = try await withDeadline(60) { await pulling.value }
                        #expect(outcome.failure?.code == .cancelled)
                        #expect(outcome.failure?.exitCode == 130)
                    }
                }
                // The cancelled run saved its pieces, kept the partial, released the lock and
                // told the peer why it stopped.
                let record = try #require(try database.download(sha256: entry.sha256))
                #expect(Bitfield(count: 64, bytes: record.writtenPieces).setCount == 12)
                #expect(PullHarness.partials(in: store) == [".atmo-partial/\(entry.sha256).part"])
                let lock = try #require(try FileIO.tryLock(store.lockPath(sha256: entry.sha256)), "the cancelled pull still holds the lock")
                FileIO.close(lock)
                #expect(gated.log.reports.contains { $0.contains("user_cancelled") })
                #expect(store.installed(modelID: entry.modelID) == nil)

                // The next run is configured with larger pieces: the partial keeps the 64 KiB
                // pieces it was recorded with, so its 12 pieces still count.
                let log = ProgressLog()
                var largerPieces = PullHarness.configuration()
                largerPieces.pieceSize = 256 * 1024
                // One source at a time, as from a provider without manifests (the swarm's
                // pieces are the manifest's, see SwarmPullTests).
                largerPieces.usesPieceManifests = false
                let result = try await PullHarness.withEngine(largerPieces, database: database) { engine in
                    try await engine.pull(PullHarness.request(entry.modelID, from: node.baseURL, into: store), progress: log.record)
                }
                #expect(result.resumedBytes == 12 * 64 * 1024)
                #expect(result.bytesTransferred == Int64(size) - result.resumedBytes)
                #expect(result.bytesTransferred < Int64(size))
                // The provider counts a download's bytes when its route ends, after the last
                // byte was handed over: the pull can have them first. Every download it
                // started has ended once none is active.
                try await withDeadline(60) {
                    while node.node.ledger.snapshot.activeDownloads != 0 { try await Task.sleep(for: .milliseconds(20)) }
                }
                #expect(node.node.ledger.snapshot.bytesServed == Int64(size) - result.resumedBytes)
                #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == bytes)
                #expect(log.all.first?.resumedBytes == result.resumedBytes)
                #expect(log.all.allSatisfy { $0.bytesDone >= result.resumedBytes })
                #expect(PullHarness.partials(in: store).isEmpty)
                #expect(try database.download(sha256: entry.sha256) == nil)
            }
        }
    }

    /// A partial damaged on disk between two runs is caught by the whole-file hash: nothing
    /// is installed, the partial is dropped, and the next pull starts clean and succeeds.
    @Test func damagedPartialIsCaughtOnResume() async throws {
        try await withTemporaryDirectory { directory in
            let size = 1024 * 1024
            let bytes = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 11 &+ 3) })
            let entry = ModelEntry(
                modelID: "fragile", name: "Fragile", type: "llm", format: "gguf", sizeBytes: Int64(size),
                sha256: SHA256Hex.of(bytes), version: "1")
            let store = LocalModelStore(directory: directory.sub("pulled"))
            let database = try StateDatabase()
            let gated = FakePeer(entry: entry, bytes: bytes) { $0.number < 6 ? .honest : .hold }
            try await withFakePeer(gated) { url in
                try await PullHarness.withEngine(PullHarness.configuration(connections: 2, stallTimeout: 60), database: database) {
                    engine in
                    let pulling = Task { await PullHarness.pull(engine, PullHarness.request("fragile", from: url, into: store)) }
                    try await withDeadline(60) {
                        while gated.log.pieces.count < 8 { try await Task.sleep(for: .milliseconds(10)) }
                    }
                    pulling.cancel()
                    #expect(await pulling.value.failure?.code == .cancelled)
                }
            }
            // Flip one byte of a piece the record says is written.
            let partial = store.partialPath(sha256: entry.sha256)
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: partial))
            try handle.seek(toOffset: 1000)
            let original = try #require(try handle.read(upToCount: 1))
            try handle.seek(toOffset: 1000)
            try handle.write(contentsOf: Data([original[0] ^ 0xFF]))
            try handle.close()

            try await withFakePeer(FakePeer(entry: entry, bytes: bytes)) { url in
                try await PullHarness.withEngine(database: database) { engine in
                    let request = PullHarness.request("fragile", from: url, into: store)
                    let damaged = await PullHarness.pull(engine, request)
                    let failure = try #require(damaged.failure)
                    #expect(failure.code == .hashMismatch)
                    #expect(failure.message.contains("earlier run"))
                    #expect(store.installed(modelID: "fragile") == nil)
                    #expect(PullHarness.partials(in: store).isEmpty)
                    #expect(try database.download(sha256: entry.sha256) == nil)
                    let clean = try await engine.pull(request)
                    #expect(clean.resumedBytes == 0)
                    #expect(try Data(contentsOf: URL(fileURLWithPath: clean.path)) == bytes)
                }
            }
        }
    }

    /// A partial of one version is never used for another version of the same model id.
    @Test func aPartialOfAnotherVersionIsNeverSpliced() async throws {
        try await withTemporaryDirectory { directory in
            let folder = directory.sub("shared")
            let source = folder + "/evolving.gguf"
            let size = 2 * 1024 * 1024
            try ModelFixtures.writeModel(at: source, size: size, seed: 14, header: .gguf)
            let store = LocalModelStore(directory: directory.sub("pulled"))
            let database = try StateDatabase()
            try await withMeshNode(stateDirectory: directory.sub("provider"), folders: [folder]) { node in
                let current = try PullHarness.onlyEntry(of: node)
                // An older version of the same id, half pulled from a peer that then hangs.
                let oldBytes = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) })
                var older = current
                older.sha256 = SHA256Hex.of(oldBytes)
                older.version = "old"
                let old = older
                let gated = FakePeer(entry: old, bytes: oldBytes) { $0.number < 10 ? .honest : .hold }
                try await withFakePeer(gated) { url in
                    try await PullHarness.withEngine(PullHarness.configuration(connections: 2, stallTimeout: 60), database: database) {
                        engine in
                        let pulling = Task { await PullHarness.pull(engine, PullHarness.request(old.modelID, from: url, into: store)) }
                        try await withDeadline(60) {
                            // 12 requests: the 10 honest pieces are written, two connections hang.
                            while gated.log.pieces.count < 12 { try await Task.sleep(for: .milliseconds(10)) }
                        }
                        pulling.cancel()
                        #expect(await pulling.value.failure?.code == .cancelled)
                    }
                }
                let result = try await PullHarness.withEngine(database: database) { engine in
                    try await engine.pull(PullHarness.request(current.modelID, from: node.baseURL, into: store))
                }
                #expect(result.resumedBytes == 0)
                #expect(result.bytesTransferred == Int64(size))
                #expect(try ModelFixtures.sha256(of: result.path) == current.sha256)
                // Installing a version of the id retires partials of other versions in this store.
                #expect(try database.download(sha256: old.sha256) == nil)
                #expect(!FileManager.default.fileExists(atPath: store.partialPath(sha256: old.sha256)))
            }
        }
    }
}
