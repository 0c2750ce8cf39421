import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoTransfer

/// End-to-end pulls from a real in-process provider (`withMeshNode`) with a real
/// `HTTPClient` and `PullEngine`.
@Suite(.serialized)
struct PullEngineTests {
    static let size = 3 * 1024 * 1024 + 1234  // a short last piece

    @Test func pullInstallsVerifiedBytesAndTheSidecar() async throws {
        try await withTemporaryDirectory { directory in
            let folder = directory.sub("shared")
            let source = folder + "/tiny-chat.gguf"
            let sha = try ModelFixtures.writeModel(at: source, size: Self.size, seed: 11, header: .gguf)
            let store = LocalModelStore(directory: directory.sub("pulled"))
            let database = try StateDatabase()
            try await withMeshNode(stateDirectory: directory.sub("provider"), folders: [folder]) { node in
                let entry = try PullHarness.onlyEntry(of: node)
                #expect(entry.sha256 == sha && entry.sizeBytes == Int64(Self.size))
                let log = ProgressLog()
                let started = Date()
                let result = try await PullHarness.withEngine(database: database) { engine in
                    try await engine.pull(PullHarness.request(entry.modelID, from: node.baseURL, into: store), progress: log.record)
                }
                #expect(!result.alreadyInstalled)
                #expect(result.bytesTransferred == Int64(Self.size) && result.resumedBytes == 0)
                #expect(result.path == store.directory + "/" + entry.fileName)
                #expect(result.entry == entry)
                #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == Data(contentsOf: URL(fileURLWithPath: source)))

                let sidecar = try #require(
                    try JSONSerialization.jsonObject(
                        with: Data(contentsOf: URL(fileURLWithPath: store.sidecarPath(modelID: entry.modelID)))) as? [String: Any])
                #expect(sidecar["model_id"] as? String == entry.modelID)
                #expect(sidecar["name"] as? String == entry.name)
                #expect(sidecar["type"] as? String == entry.type)
                #expect(sidecar["format"] as? String == "gguf")
                #expect((sidecar["size_bytes"] as? NSNumber)?.int64Value == Int64(Self.size))
                #expect(sidecar["sha256"] as? String == sha)
                #expect(sidecar["version"] as? String == entry.version)
                #expect(sidecar["downloaded_from"] as? String == node.baseURL)
                let downloadedAt = try #require(
                    (sidecar["downloaded_at"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) })
                #expect(abs(downloadedAt.timeIntervalSince(started)) < 60)

                // Nothing left over: no partial, no resume record.
                #expect(PullHarness.partials(in: store).isEmpty)
                #expect(try database.allDownloads().isEmpty)
                // Progress is byte-weighted, never backwards, never past the total, and ends complete.
                let reports = log.all
                #expect(!reports.isEmpty)
                #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.bytesDone <= $1.bytesDone })
                #expect(reports.allSatisfy { $0.bytesDone <= $0.totalBytes && $0.totalBytes == Int64(Self.size) })
                #expect(reports.last?.phase == .completed && reports.last?.bytesDone == Int64(Self.size))
                // The provider's manifest sets the pieces (a swarm pull of one source).
                let pieceSize = try #require(entry.pieceSize)
                #expect(reports.last?.pieceCount == PieceManifest.pieceCount(fileSize: Int64(Self.size), pieceSize: pieceSize))
                // The provider heard that the transfer succeeded.
                #expect(node.node.ledger.snapshot.completed == 1)
            }
        }
    }

    @Test func secondPullOfAnInstalledModelTransfersNothing() async throws {
        try await withTemporaryDirectory { directory in
            let folder = directory.sub("shared")
            try ModelFixtures.writeModel(at: folder + "/vision.onnx", size: 300_000, seed: 12)
            let store = LocalModelStore(directory: directory.sub("pulled"))
            let database = try StateDatabase()
            try await withMeshNode(stateDirectory: directory.sub("provider"), folders: [folder]) { node in
                let entry = try PullHarness.onlyEntry(of: node)
                try await PullHarness.withEngine(database: database) { engine in
                    let request = PullHarness.request(entry.modelID, from: node.baseURL, into: store)
                    let first = try await engine.pull(request)
                    #expect(!first.alreadyInstalled)
                    // The provider counts a download when its side of it ends, which can come
                    // after the pull holds the last byte: wait for that before reading the count.
                    let clock = ContinuousClock()
                    let deadline = clock.now + .seconds(60)
                    while node.node.ledger.snapshot.activeDownloads > 0, clock.now < deadline {
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    try #require(node.node.ledger.snapshot.activeDownloads == 0, "the provider's side of the download never ended")
                    let served = node.node.ledger.snapshot.bytesServed
                    #expect(served == entry.sizeBytes)
                    let second = try await engine.pull(request)
                    #expect(second.alreadyInstalled)
                    #expect(second.bytesTransferred == 0 && second.resumedBytes == 0)
                    #expect(second.path == first.path)
                    #expect(node.node.ledger.snapshot.bytesServed == served)
                }
            }
        }
    }

    @Test func zeroByteModelInstallsAtOnce() async throws {
        try await withTemporaryDirectory { directory in
            let empty = ModelEntry(
                modelID: "empty-model", name: "Empty", type: "embedding", format: "onnx", sizeBytes: 0,
                sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", version: "1")
            let peer = FakePeer(entry: empty, bytes: Data())
            let store = LocalModelStore(directory: directory.sub("pulled"))
            let database = try StateDatabase()
            try await withFakePeer(peer) { url in
                try await PullHarness.withEngine(database: database) { engine in
                    let request = PullHarness.request("empty-model", from: url, into: store)
                    let result = try await withDeadline(60) { try await engine.pull(request) }
                    #expect(!result.alreadyInstalled && result.bytesTransferred == 0)
                    #expect(result.path == store.directory + "/empty-model.onnx")
                    #expect(try FileIO.stat(result.path).size == 0)
                    #expect(store.installed(modelID: "empty-model")?.sizeBytes == 0)
                    #expect(store.installed(modelID: "empty-model")?.sha256 == empty.sha256)
                    #expect(peer.log.pieces.isEmpty)
                    #expect(PullHarness.partials(in: store).isEmpty)
                    #expect(try database.allDownloads().isEmpty)
                    let again = try await withDeadline(60) { try await engine.pull(request) }
                    #expect(again.alreadyInstalled)
                }
            }
        }
    }

    /// Two pulls of one artefact into one store at once: the second is refused while the
    /// first runs (the lock is per sha256); the first completes untouched.
    @Test func concurrentPullsOfOneModel() async throws {
        try await withTemporaryDirectory { directory in
            let size = 2 * 1024 * 1024
            let bytes = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 5) })
            let entry = ModelEntry(
                modelID: "shared-model", name: "Shared", type: "llm", format: "gguf", sizeBytes: Int64(size),
                sha256: SHA256Hex.of(bytes), version: "1")
            let peer = FakePeer(entry: entry, bytes: bytes) { _ in .slow(seconds: 0.02) }
            let store = LocalModelStore(directory: directory.sub("pulled"))
            let database = try StateDatabase()
            try await withFakePeer(peer) { url in
                try await PullHarness.withEngine(database: database) { engine in
                    let request = PullHarness.request("shared-model", from: url, into: store)
                    let first = Task { await PullHarness.pull(engine, request) }
                    try await withDeadline(60) {
                        while peer.log.pieces.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
                    }
                    let second = await PullHarness.pull(engine, request)
                    #expect(second.failure?.code == .alreadyRunning)
                    #expect(second.failure?.message.contains("shared-model") == true)
                    #expect(second.failure?.exitCode == 7)
                    let firstResult = try await withDeadline(60) { await first.value }
                    let installed = try #require(firstResult.success)
                    #expect(try Data(contentsOf: URL(fileURLWithPath: installed.path)) == bytes)
                    let third = await PullHarness.pull(engine, request)
                    #expect(third.success?.alreadyInstalled == true)
                }
            }
        }
    }

    /// The same artefact pulled into two folders at once (one state database): both locks
    /// are free, both pulls complete with the right bytes.
    @Test func sameModelIntoTwoFoldersAtOnce() async throws {
        try await withTemporaryDirectory { directory in
            let size = 1024 * 1024 + 5
            let bytes = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 17 &+ 1) })
            let entry = ModelEntry(
                modelID: "twice", name: "Twice", type: "llm", format: "gguf", sizeBytes: Int64(size),
                sha256: SHA256Hex.of(bytes), version: "1")
            let peer = FakePeer(entry: entry, bytes: bytes) { _ in .slow(seconds: 0.005) }
            let database = try StateDatabase()
            try await withFakePeer(peer) { url in
                try await PullHarness.withEngine(database: database) { engine in
                    let stores = [LocalModelStore(directory: directory.sub("a")), LocalModelStore(directory: directory.sub("b"))]
                    let results = await withTaskGroup(of: Result<PullResult, TransferError>.self) { group in
                        for store in stores {
                            group.addTask { await PullHarness.pull(engine, PullHarness.request("twice", from: url, into: store)) }
                        }
                        return await group.reduce(into: []) { $0.append($1) }
                    }
                    for result in results {
                        let pulled = try #require(result.success, "\(String(describing: result.failure))")
                        #expect(try Data(contentsOf: URL(fileURLWithPath: pulled.path)) == bytes)
                    }
                    #expect(Set(results.compactMap { $0.success?.path }).count == 2)
                }
            }
        }
    }

    /// A peer that answers the request for one id with the entry of another is not trusted
    /// to decide what gets installed.
    @Test func entryOfAnotherModelIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let bytes = Data([1, 2, 3, 4])
            let entry = ModelEntry(
                modelID: "other", name: "Other", type: "llm", format: "gguf", sizeBytes: 4, sha256: SHA256Hex.of(bytes))
            var peer = FakePeer(entry: entry, bytes: bytes)
            peer.answersAnyID = true
            let store = LocalModelStore(directory: directory.sub("pulled"))
            try await withFakePeer(peer) { url in
                try await PullHarness.withEngine(database: try StateDatabase()) { engine in
                    let outcome = await PullHarness.pull(engine, PullHarness.request("wanted", from: url, into: store))
                    #expect(outcome.failure?.code == .protocolViolation)
                }
            }
            #expect(store.installed().isEmpty)
        }
    }

    @Test func unknownModelIsNotOffered() async throws {
        try await withTemporaryDirectory { directory in
            let entry = ModelEntry(
                modelID: "real", name: "Real", type: "llm", format: "gguf", sizeBytes: 3, sha256: SHA256Hex.of(Data([1, 2, 3])))
            let peer = FakePeer(entry: entry, bytes: Data([1, 2, 3]))
            let store = LocalModelStore(directory: directory.sub("pulled"))
            try await withFakePeer(peer) { url in
                try await PullHarness.withEngine(database: try StateDatabase()) { engine in
                    let missing = await PullHarness.pull(engine, PullHarness.request("imaginary", from: url, into: store))
                    #expect(missing.failure?.code == .notOffered)
                    #expect(missing.failure?.exitCode == 4)
                    let hostile = await PullHarness.pull(engine, PullHarness.request("../etc", from: url, into: store))
                    #expect(hostile.failure?.code == .notOffered)
                    let pinned = await PullHarness.pull(
                        engine, PullHarness.request("real", from: url, into: store, sha256: String(repeating: "0", count: 64)))
                    #expect(pinned.failure?.code == .sourceChanged)
                    let exact = await PullHarness.pull(
                        engine, PullHarness.request("real", from: url, into: store, sha256: entry.sha256.uppercased()))
                    #expect(exact.success != nil)
                }
            }
        }
    }
}
