import AtmoNode
import AtmoProtocol
import AtmoTesting
import Foundation
import Logging
import Synchronization
import Testing

@testable import AtmoStore
@testable import AtmoTransfer

/// The storage admission on real files: it evicts the chosen models (file and sidecar),
/// reserves an admitted pull's bytes until it ends, and checks the disk's free space.
struct StorageAdmissionTests {
    static let mib: Int64 = 1 << 20
    static let logger = Logger(label: "atmo.test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// An entry whose SHA-256 is `digit` 64 times.
    static func entry(_ id: String, mib size: Int64, digit: Character) -> ModelEntry {
        ModelEntry(modelID: id, name: id, type: "llm", format: "gguf", sizeBytes: size * mib, sha256: String(repeating: digit, count: 64))
    }

    /// A pulled model in `store`: its file (sparse) and its sidecar, used at `usedAt`.
    static func install(_ entry: ModelEntry, in store: LocalModelStore, database: StateDatabase, usedAt: Double) throws {
        try store.prepare()
        let path = store.modelPath(for: entry)
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(entry.sizeBytes))
        try handle.close()
        let sidecar = InstalledModel(
            modelID: entry.modelID, name: entry.name, type: entry.type, format: entry.format, sizeBytes: entry.sizeBytes,
            sha256: entry.sha256, version: "", downloadedFrom: "http://127.0.0.1:1", downloadedAt: "2026-01-01T00:00:00Z",
            fileName: entry.fileName)
        try JSONEncoder().encode(sidecar).write(to: URL(fileURLWithPath: store.sidecarPath(modelID: entry.modelID)))
        try database.recordUsage([ModelUsage(sha256: entry.sha256, modelID: entry.modelID, lastUsedAt: usedAt, kind: .pulled)])
    }

    @Test("admission evicts the least recently used model's file and sidecar, then forgets its use")
    func evictsFiles() async throws {
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("models"))
            let database = try StateDatabase()
            let (old, recent) = (Self.entry("a-old.gguf", mib: 4, digit: "a"), Self.entry("b-recent.gguf", mib: 4, digit: "b"))
            try Self.install(old, in: store, database: database, usedAt: 100)
            try Self.install(recent, in: store, database: database, usedAt: 200)
            let evicted = Mutex<[String]>([])
            let admission = StorageAdmission(
                configuration: StorageConfiguration(limitBytes: 10 * Self.mib), database: database,
                meshCopies: { [old.sha256: 1, recent.sha256: 1] }, logger: Self.logger,
                onEvicted: { models in evicted.withLock { $0 += models.map(\.modelID) } })
            let ticket = try admission.admit(Self.entry("c-new.gguf", mib: 5, digit: "c"), into: store)
            defer { ticket.end() }
            #expect(evicted.withLock { $0 } == ["a-old.gguf"])
            #expect(!FileManager.default.fileExists(atPath: store.modelPath(for: old)))
            #expect(store.installed(modelID: old.modelID) == nil)
            #expect(store.installed(modelID: recent.modelID) != nil)
            #expect(try database.usage()[old.sha256] == nil)
        }
    }

    @Test("an admitted pull's bytes stay reserved until it ends, so a second pull cannot count on them")
    func reservationsHoldUntilTheEnd() async throws {
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("models"))
            try store.prepare()
            let admission = StorageAdmission(
                configuration: StorageConfiguration(limitBytes: 10 * Self.mib), database: try StateDatabase(), logger: Self.logger)
            let first = try admission.admit(Self.entry("a-first.gguf", mib: 6, digit: "d"), into: store)
            #expect(try admission.status(of: store).partialBytes == 6 * Self.mib)
            #expect(throws: TransferError.self) { try admission.admit(Self.entry("b-second.gguf", mib: 6, digit: "e"), into: store) }
            first.end()
            #expect(try admission.status(of: store).partialBytes == 0)
            let second = try admission.admit(Self.entry("b-second.gguf", mib: 6, digit: "e"), into: store)
            second.end()
        }
    }

    @Test(
        "with no limit, a pull larger than the disk's free space fails with storage_full and the numbers, the provider sending nothing",
        .enabled(if: TmpfsMount.isAvailable, "needs root on Linux to mount a tmpfs (a real small disk)"))
    func diskFreeSpaceIsChecked() async throws {
        try await withTemporaryDirectory { directory in
            let folder = directory.sub("shared")
            try ModelFixtures.writeModel(at: folder + "/roomy.gguf", size: 2 << 20, seed: 71, header: .gguf)
            let database = try StateDatabase()
            try await TmpfsMount.with(at: directory.sub("disk"), bytes: 1 << 20) { disk in
                let store = LocalModelStore(directory: disk.path)
                try await withMeshNode(stateDirectory: directory.sub("provider"), folders: [folder]) { node in
                    let entry = try PullHarness.onlyEntry(of: node)
                    let failure = try await PullHarness.withEngine(database: database) { engine in
                        let admitted = engine.withStorage(StorageAdmission(configuration: StorageConfiguration(), database: database, logger: Self.logger))
                        return await PullHarness.pull(admitted, PullHarness.request(entry.modelID, from: node.baseURL, into: store)).failure
                    }
                    #expect(failure?.code == .storageFull, "\(String(describing: failure))")
                    let message = failure?.message ?? ""
                    #expect(message.contains("needs 2.0 MiB") && message.contains("on the disk"), "\(message)")
                    #expect(node.node.ledger.snapshot.bytesServed == 0)
                    #expect(PullHarness.partials(in: store).isEmpty)
                }
            }
        }
    }
}
