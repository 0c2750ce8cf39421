import AtmoProtocol
import AtmoTesting
import Crypto
import Foundation
import Testing

@testable import AtmoStore

struct LocalModelStoreTests {
    func entry(id: String = "yolo", sha256: String, size: Int64) -> ModelEntry {
        ModelEntry(
            modelID: id, name: "YOLO v8n", type: "vision", format: "pt", sizeBytes: size, sha256: sha256,
            version: "2024.02.08.001", source: "llamafarm_training", sourceRef: "local")
    }

    @Test func installListAndRemove() throws {
        try withTemporaryDirectorySync { root in
            let store = LocalModelStore(directory: root + "/models")
            try store.prepare()
            #expect(FileManager.default.fileExists(atPath: store.partialDirectory))
            #expect(store.installed().isEmpty)

            let partial = store.partialPath(sha256: String(repeating: "1", count: 64))
            let sha = try ModelFixtures.writeModel(at: partial, size: 5000, seed: 3)
            let entry = entry(sha256: sha, size: 5000)
            let path = try store.install(partialPath: partial, entry: entry, downloadedFrom: "http://127.0.0.1:1")
            #expect(path == root + "/models/yolo.pt")
            #expect(path == store.modelPath(for: entry))
            #expect(!FileManager.default.fileExists(atPath: partial))
            #expect(try ModelFixtures.sha256(of: path) == sha)

            let model = try #require(store.installed(modelID: "yolo"))
            #expect(model.sha256 == sha && model.sizeBytes == 5000 && model.format == "pt" && model.type == "vision")
            #expect(model.version == "2024.02.08.001" && model.downloadedFrom == "http://127.0.0.1:1")
            #expect(ISO8601DateFormatter().date(from: model.downloadedAt) != nil)
            #expect(store.filePath(of: model) == path)
            #expect(store.installed().map(\.modelID) == ["yolo"])

            // The sidecar has the documented snake_case fields.
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: store.sidecarPath(modelID: "yolo"))))
                    as? [String: Any])
            for key in ["model_id", "name", "type", "format", "size_bytes", "sha256", "version", "downloaded_from", "downloaded_at"] {
                #expect(json[key] != nil, "sidecar lacks \(key)")
            }

            try store.remove(modelID: "yolo")
            #expect(store.installed().isEmpty)
            #expect(!FileManager.default.fileExists(atPath: path))
            #expect(throws: StoreError.self) { try store.remove(modelID: "yolo") }
        }
    }

    @Test func installReplacesAnOlderVersionInOneStep() throws {
        try withTemporaryDirectorySync { root in
            let store = LocalModelStore(directory: root)
            try store.prepare()
            let old = store.partialPath(sha256: String(repeating: "1", count: 64))
            let oldSHA = try ModelFixtures.writeModel(at: old, size: 100, seed: 1)
            _ = try store.install(partialPath: old, entry: entry(sha256: oldSHA, size: 100), downloadedFrom: "a")
            let new = store.partialPath(sha256: String(repeating: "2", count: 64))
            let newSHA = try ModelFixtures.writeModel(at: new, size: 200, seed: 2)
            let path = try store.install(partialPath: new, entry: entry(sha256: newSHA, size: 200), downloadedFrom: "b")
            #expect(try ModelFixtures.sha256(of: path) == newSHA)
            #expect(store.installed(modelID: "yolo")?.sha256 == newSHA)
            #expect(store.installed().count == 1)
        }
    }

    /// Two versions of one model installed at the same moment: whichever wins, the file
    /// and the sidecar describe the same version.
    @Test func concurrentInstallsOfTwoVersionsStayConsistent() async throws {
        let directory = try TemporaryDirectory(prefix: "atmo-install")
        defer { directory.remove() }
        let store = LocalModelStore(directory: directory.path)
        try store.prepare()
        for round in 0..<20 {
            let versions = try (0..<2).map { version in
                let partial = store.partialPath(sha256: String(repeating: "\(version)", count: 64))
                let sha = try ModelFixtures.writeModel(at: partial, size: 1000 + version, seed: UInt64(round * 2 + version))
                return (partial, entry(sha256: sha, size: Int64(1000 + version)))
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (partial, entry) in versions {
                    group.addTask {
                        _ = try await BlockingIO.run { try store.install(partialPath: partial, entry: entry, downloadedFrom: "x") }
                    }
                }
                try await group.waitForAll()
            }
            let installed = try #require(store.installed(modelID: "yolo"))
            #expect(try ModelFixtures.sha256(of: store.filePath(of: installed)) == installed.sha256, "round \(round)")
        }
        #expect(store.installed().count == 1)
        // No temporary sidecars are left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == [".atmo-partial", "yolo.json", "yolo.pt"])
    }

    @Test func unreadableOrForeignSidecarsAreIgnored() throws {
        try withTemporaryDirectorySync { root in
            let store = LocalModelStore(directory: root)
            try store.prepare()
            try Data("not json".utf8).write(to: URL(fileURLWithPath: root + "/broken.json"))
            // A sidecar whose id is not its file name is not trusted.
            try Data(
                #"{"model_id":"other","name":"x","type":"llm","format":"gguf","size_bytes":1,"sha256":"\#(String(repeating: "a", count: 64))","version":"1","downloaded_from":"x","downloaded_at":"2024-01-01T00:00:00Z"}"#
                    .utf8
            )
            .write(to: URL(fileURLWithPath: root + "/mine.json"))
            #expect(store.installed().isEmpty)
            #expect(store.installed(modelID: "../etc/passwd") == nil)
        }
    }

    @Test func unwritableFolderIsAClearError() throws {
        guard getuid() != 0 else { return }  // root writes anywhere; nothing to check
        let store = LocalModelStore(directory: "/proc/atmo-models")
        #expect(throws: StoreError.self) { try store.prepare() }
    }
}

struct NodeIdentityTests {
    @Test func createdOnceThenLoadedWithOwnerOnlyPermissions() throws {
        try withTemporaryDirectorySync { root in
            let directory = root + "/state"
            let first = try NodeIdentity.loadOrCreate(directory: directory)
            let again = try NodeIdentity.loadOrCreate(directory: directory)
            #expect(first.nodeID == again.nodeID)
            #expect(first.publicKey.rawRepresentation == again.publicKey.rawRepresentation)
            #expect(first.nodeID.count == 16 && first.nodeID.allSatisfy(\.isHexDigit))
            #expect(first.nodeID == String(SHA256.hash(data: first.publicKey.rawRepresentation).hexString.prefix(16)))
            let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/node.key")
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            #expect((attributes[.size] as? NSNumber)?.intValue == 32)
            // No temporary file is left behind.
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["node.key"])
            // Another folder, another identity.
            #expect(try NodeIdentity.loadOrCreate(directory: root + "/other").nodeID != first.nodeID)
        }
    }

    /// Many starts at once (threads of one process) end up with one key, the one on disk.
    @Test func concurrentFirstStartsAgreeOnOneIdentity() async throws {
        for _ in 0..<5 {
            let directory = try TemporaryDirectory(prefix: "atmo-identity")
            defer { directory.remove() }
            let state = directory.path + "/state"
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await BlockingIO.run { try NodeIdentity.loadOrCreate(directory: state).nodeID } }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            let onDisk = try NodeIdentity.loadOrCreate(directory: state).nodeID
            #expect(Set(ids) == [onDisk])
            #expect(try FileManager.default.contentsOfDirectory(atPath: state) == ["node.key"])
        }
    }

    @Test func corruptKeyIsAnErrorNotANewIdentity() throws {
        try withTemporaryDirectorySync { root in
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: root + "/node.key"))
            #expect(throws: StoreError.self) { try NodeIdentity.loadOrCreate(directory: root) }
            #expect(try Data(contentsOf: URL(fileURLWithPath: root + "/node.key")) == Data([1, 2, 3]))
        }
    }
}

struct FileHasherTests {
    @Test func knownDigests() throws {
        try withTemporaryDirectorySync { root in
            let abc = root + "/abc"
            try Data("abc".utf8).write(to: URL(fileURLWithPath: abc))
            #expect(try FileHasher.sha256(path: abc) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
            let empty = root + "/empty"
            try Data().write(to: URL(fileURLWithPath: empty))
            #expect(try FileHasher.sha256(path: empty) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            #expect(try FileHasher.sha256(path: abc, length: 0) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            #expect(try FileHasher.sha256(path: abc, length: 2) == SHA256.hash(data: Data("ab".utf8)).hexString)
        }
    }

    /// Larger than the 4 MiB read buffer, not a multiple of it.
    @Test func multiBufferFileMatchesAOneShotDigest() throws {
        try withTemporaryDirectorySync { root in
            let path = root + "/big.bin"
            let size = FileHasher.bufferSize * 2 + 12_345
            let expected = try ModelFixtures.writeModel(at: path, size: size, seed: 9)
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(SHA256.hash(data: data).hexString == expected)
            #expect(try FileHasher.sha256(path: path) == expected)
            var hasher = SHA256()
            try FileHasher.update(&hasher, path: path, from: 1000, length: 5_000_000)
            #expect(hasher.finalize().hexString == SHA256.hash(data: data[1000..<5_001_000]).hexString)
        }
    }

    @Test func shortFileAndCancellationAreErrors() throws {
        try withTemporaryDirectorySync { root in
            let path = root + "/short"
            try Data("abc".utf8).write(to: URL(fileURLWithPath: path))
            #expect(throws: StoreError.self) { try FileHasher.sha256(path: path, length: 10) }
            #expect(throws: CancellationError.self) { try FileHasher.sha256(path: path, isCancelled: { true }) }
            #expect(throws: StoreError.self) { try FileHasher.sha256(path: root + "/missing") }
        }
    }
}

struct FileLockTests {
    @Test func oneHolderAtATime() throws {
        try withTemporaryDirectorySync { root in
            let path = root + "/x.lock"
            let first = try #require(try FileIO.tryLock(path))
            // flock locks belong to the open file: a second open in this process is refused too.
            #expect(try FileIO.tryLock(path) == nil)
            FileIO.close(first)
            let second = try #require(try FileIO.tryLock(path))
            FileIO.close(second)
        }
    }

    /// A finished pull unlinks its lock file while holding it: the next pull locks a new file.
    @Test func aLockFileUnlinkedByItsHolderIsNotReused() throws {
        try withTemporaryDirectorySync { root in
            let path = root + "/x.lock"
            let holder = try #require(try FileIO.tryLock(path))
            let before = try FileIO.fstat(holder)
            unlink(path)
            let next = try #require(try FileIO.tryLock(path), "a new lock file is not locked by anyone")
            #expect(try FileIO.fstat(next).inode != before.inode)
            #expect(try FileIO.tryLock(path) == nil)
            FileIO.close(holder)
            FileIO.close(next)
        }
    }

    @Test func withLockSerialises() async throws {
        let directory = try TemporaryDirectory(prefix: "atmo-lock")
        defer { directory.remove() }
        let path = directory.path + "/x.lock"
        let counter = directory.path + "/counter"
        try Data("0".utf8).write(to: URL(fileURLWithPath: counter))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await BlockingIO.run {
                        for _ in 0..<25 {
                            try FileIO.withLock(path) { () throws(StoreError) in
                                let value = Int((try? String(contentsOfFile: counter, encoding: .utf8)) ?? "") ?? -1000
                                try? Data("\(value + 1)".utf8).write(to: URL(fileURLWithPath: counter))
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try String(contentsOfFile: counter, encoding: .utf8) == "100")
    }
}
