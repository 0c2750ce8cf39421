import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

@testable import AtmoStore

/// `atmo pull ID --into llamafarm`'s install step, on real files: the place LlamaFarm and
/// the scanner expect, hard links from the store, hostile names from a peer's entry.
struct LlamaFarmInstallerTests {
    /// Writes `bytes` random bytes at `path` (folders made) and returns their SHA-256.
    func write(_ path: String, bytes: Int = 4096, seed: UInt8 = 7) throws -> String {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var data = Data(count: bytes)
        for index in 0..<bytes { data[index] = UInt8(truncatingIfNeeded: index &* 31 &+ Int(seed)) }
        try data.write(to: URL(fileURLWithPath: path))
        return try HubFileDigests.compute(path: path).sha256
    }

    func scan(llamaFarm root: String) -> [ScannedFile] {
        ModelScanner(roots: ScanRoots(llamaFarmModels: URL(fileURLWithPath: root))).scan()
    }

    func inode(_ path: String) -> UInt64? {
        var info = stat()
        return lstat(path, &info) == 0 ? UInt64(info.st_ino) : nil
    }

    /// Every file below `folder` (relative paths), hidden ones too.
    func tree(_ folder: String) -> [String] {
        (FileManager.default.enumerator(atPath: folder)?.allObjects as? [String] ?? []).sorted()
    }

    @Test func aModelOfALlamaFarmProviderGoesWhereItWasAndTheScannerFindsItWithTheSameHash() async throws {
        try await withTemporaryDirectory { directory in
            let provider = directory.sub("provider-llamafarm")
            let sha256 = try write(provider + "/vision/yolov8n_20240208_101500/model.pt")
            let offered = try #require(scan(llamaFarm: provider).first)
            let entry = offered.entry(sha256: sha256)
            #expect(entry.metadata["llamafarm_path"] == .string("vision/yolov8n_20240208_101500/model.pt"))
            // The pulled copy in the node's store.
            let stored = directory.sub("store/\(entry.fileName)")
            _ = try write(stored)
            let root = directory.sub("consumer-llamafarm")
            let done = try LlamaFarmInstaller(root: root).install(entry, from: stored, sha256Verified: false, downloadedFrom: "node-a")
            #expect(done.path == root + "/vision/yolov8n_20240208_101500/model.pt")
            #expect(!done.alreadyInstalled && done.linked)
            #expect(inode(done.path) == inode(stored), "hard-linked from the store: the bytes exist once")
            #expect(tree(root).filter { $0.contains(".tmp-") }.isEmpty)
            let metadata = try #require(
                JSONSerialization.jsonObject(
                    with: Data(contentsOf: URL(fileURLWithPath: root + "/vision/yolov8n_20240208_101500/.atmo-model.json")))
                    as? [String: Any])
            #expect(metadata["sha256"] as? String == sha256 && metadata["downloaded_from"] as? String == "node-a")
            #expect(metadata["downloaded_at"] is String && metadata["model_id"] as? String == entry.modelID)
            // This node's scan lists it as the provider did: same id, name, version, one file (not the metadata).
            let found = scan(llamaFarm: root)
            #expect(found.map(\.modelID) == [entry.modelID])
            let model = try #require(found.first)
            #expect(model.name == offered.name && model.version == offered.version && model.type == offered.type)
            #expect(try HubFileDigests.compute(path: model.path).sha256 == sha256)
            // Again: already there, nothing written.
            let again = try LlamaFarmInstaller(root: root).install(entry, from: stored, sha256Verified: true)
            #expect(again.alreadyInstalled && again.path == done.path)
            #expect(LlamaFarmInstaller(root: root).installedAlready(entry) == done.path)
            #expect(LlamaFarmInstaller(root: directory.sub("empty")).installedAlready(entry) == nil)
        }
    }

    @Test func otherSourcesGoUnderTheirTypeAsModelFiles() async throws {
        try await withTemporaryDirectory { directory in
            let stored = directory.sub("store/qwen-q4.gguf")
            let sha256 = try write(stored, seed: 3)
            let entry = ModelEntry(
                modelID: "qwen-q4.gguf", name: "qwen-q4", type: "llm", format: "gguf", sizeBytes: 4096, sha256: sha256,
                source: "huggingface", sourceRef: "org/qwen")
            let root = directory.sub("llamafarm")
            let done = try LlamaFarmInstaller(root: root).install(entry, from: stored, sha256Verified: true)
            #expect(done.path == root + "/llm/qwen-q4/model.gguf")
            #expect(scan(llamaFarm: root).map(\.modelID) == ["qwen-q4"])
            let unknown = ModelEntry(modelID: "weights", name: "w", type: "strange", format: "", sizeBytes: 4096, sha256: sha256)
            #expect(LlamaFarmLayout(entry: unknown) == LlamaFarmLayout(category: "other", folder: "weights", path: "weights"))
        }
    }

    @Test(arguments: [
        "../../outside/f/model.pt", "vision/../../../outside/model.pt", "vision/f/../../../../outside.pt",
        "/etc/passwd/x", "//outside/model.pt", ".hidden/f/model.pt", "vision/.f/model.pt", "vision/f/.model.pt",
        "vision/f\u{0}x/model.pt", "vision/f\nx/model.pt", "vision\\..\\..\\x/f/model.pt", "vision/f", "model.pt",
        "vision/f/model.pt.partial", "vision//model.pt", String(repeating: "a", count: 300) + "/f/model.pt",
    ])
    func hostileNamesFromThePeerFallBackAndNeverLeaveTheRoot(_ hostile: String) async throws {
        try await withTemporaryDirectory { directory in
            let stored = directory.sub("store/evil.pt")
            let sha256 = try write(stored, seed: 9)
            let entry = ModelEntry(
                modelID: "evil", name: "evil", type: "vision", format: "pt", sizeBytes: 4096, sha256: sha256,
                source: "llamafarm_training", metadata: ["llamafarm_path": .string(hostile)])
            let root = directory.sub("home/llamafarm")
            let done = try LlamaFarmInstaller(root: root).install(entry, from: stored, sha256Verified: true)
            #expect(done.path == root + "/vision/evil/model.pt")
            #expect(tree(directory.path).filter { !$0.hasPrefix("home") && !$0.hasPrefix("store") }.isEmpty)
            #expect(tree(directory.sub("home")).allSatisfy { $0.hasPrefix("llamafarm") })
            #expect(scan(llamaFarm: root).map(\.modelID) == ["evil"])
        }
    }

    @Test func aCategoryOrFolderMismatchingItsPathFallsBack() {
        let entry = ModelEntry(
            modelID: "m", name: "m", type: "llm", format: "gguf", sizeBytes: 1, sha256: String(repeating: "a", count: 64),
            source: "llamafarm_training",
            metadata: ["llamafarm_path": .string("llm/f/model.gguf"), "llamafarm_folder": .string("../g")])
        #expect(LlamaFarmLayout(entry: entry) == LlamaFarmLayout(category: "llm", folder: "m", path: "model.gguf"))
    }

    @Test func aSymlinkPlantedInTheRootIsNeverWrittenThrough() async throws {
        try await withTemporaryDirectory { directory in
            let stored = directory.sub("store/m.gguf")
            let sha256 = try write(stored)
            let entry = ModelEntry(modelID: "m", name: "m", type: "llm", format: "gguf", sizeBytes: 4096, sha256: sha256)
            let root = directory.sub("llamafarm")
            let outside = directory.sub("outside")
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: root + "/llm", withDestinationPath: outside)
            #expect(throws: StoreError.self) { try LlamaFarmInstaller(root: root).install(entry, from: stored, sha256Verified: true) }
            #expect(tree(outside).isEmpty)
        }
    }

    @Test func anotherFileAtThePlaceIsKeptAndBadBytesAreRefused() async throws {
        try await withTemporaryDirectory { directory in
            let stored = directory.sub("store/m.gguf")
            let sha256 = try write(stored)
            let entry = ModelEntry(modelID: "m", name: "m", type: "llm", format: "gguf", sizeBytes: 4096, sha256: sha256)
            let root = directory.sub("llamafarm")
            let theirs = root + "/llm/m/model.gguf"
            let theirSHA = try write(theirs, seed: 99)
            #expect(throws: StoreError.self) { try LlamaFarmInstaller(root: root).install(entry, from: stored, sha256Verified: true) }
            #expect(try HubFileDigests.compute(path: theirs).sha256 == theirSHA)
            var wrong = entry
            wrong.modelID = "n"
            wrong.sha256 = theirSHA
            #expect(throws: StoreError.self) { try LlamaFarmInstaller(root: root).install(wrong, from: stored, sha256Verified: false) }
            #expect(!FileManager.default.fileExists(atPath: root + "/llm/n"))
        }
    }
}
