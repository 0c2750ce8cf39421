import AtmoProtocol
import AtmoTesting
import Crypto
import Foundation
import Logging
import Testing

@testable import AtmoStore

/// Issue 12: a Hugging Face snapshot is one repository. Only files usable alone are
/// advertised as models; every file is served by its id and listed in the repository with
/// its SHA-256 and blob id once all are hashed.
struct InventoryRepositoryTests {
    static let commit = "0123456789abcdef0123456789abcdef01234567"
    let logger = Logger(label: "atmo.test", factory: { _ in SwiftLogNoOpLogHandler() })

    func sha256(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).hexString }

    func gitBlobID(_ bytes: [UInt8]) -> String {
        Insecure.SHA1.hash(data: Array("blob \(bytes.count)\0".utf8) + bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// A repository as huggingface_hub lays it out: LFS files under their SHA-256, the
    /// others under their git blob id; refs/main and a PR ref name the commit.
    func buildRepository(_ fixture: ScanFixture, repo: String = "models--org--tiny") throws -> [String: [UInt8]] {
        let files: [String: [UInt8]] = [
            "tiny-Q4_K_M.gguf": MagicBytes.gguf(padding: 3000),
            "split-00001-of-00002.gguf": MagicBytes.gguf(padding: 10),
            "model-00001-of-00002.safetensors": MagicBytes.safetensors(),
            "model-00002-of-00002.safetensors": MagicBytes.safetensors() + [1],
            "model.safetensors.index.json": MagicBytes.text(#"{"weight_map":{}}"#),
            "config.json": MagicBytes.text(#"{"model_type":"llama"}"#),
            "onnx/model.onnx": [0x08, 0x07, 0x12, 0x01],
            "onnx/model.onnx_data": [1, 2, 3],
            "vision.tflite": MagicBytes.tflite(),
            ".gitattributes": MagicBytes.text("*.gguf filter=lfs"),
            "README.md": MagicBytes.text("# tiny"),
            "code/__init__.py": [],  // empty files are files of the repository too
        ]
        for (path, bytes) in files {
            let isLFS = path.hasSuffix(".gguf") || path.hasSuffix(".safetensors") || path.contains("onnx") || path.hasSuffix(".tflite")
            try fixture.hfFile(repo: repo, commit: Self.commit, path: path, blob: isLFS ? sha256(bytes) : gitBlobID(bytes), bytes)
        }
        try fixture.file("hub/\(repo)/refs/main", MagicBytes.text(Self.commit))
        try fixture.file("hub/\(repo)/refs/refs/pr/1", MagicBytes.text(Self.commit))
        try fixture.file("hub/\(repo)/refs/old", MagicBytes.text(String(repeating: "f", count: 40)))
        return files
    }

    @Test func aSnapshotIsOneRepositoryAndOnlyStandaloneFilesAreModels() async throws {
        let fixture = try ScanFixture()
        defer { fixture.remove() }
        let files = try buildRepository(fixture)
        let inventory = Inventory(roots: ScanRoots(huggingFaceHub: fixture.url("hub")), database: try StateDatabase(), logger: logger)
        try await inventory.refresh()
        // GGUF (not a split part) and TFLite are models; ONNX with external data, safetensors,
        // shards, config, README and .gitattributes are not.
        #expect(inventory.entries.map(\.modelID) == ["org--tiny--tiny-Q4_K_M.gguf", "org--tiny--vision.tflite"])
        // Every file is served by its own id.
        #expect(inventory.servedEntries.count == files.count)
        #expect(inventory.item(modelID: "org--tiny--config.json")?.isStandalone == false)
        #expect(inventory.item(modelID: "org--tiny--.gitattributes") != nil)

        let repository = try #require(inventory.repositories.first)
        #expect(inventory.repositories.count == 1 && inventory.repository(modelID: "org--tiny") == repository)
        #expect((repository.repoID, repository.revision, repository.refs) == ("org/tiny", Self.commit, ["main", "refs/pr/1"]))
        #expect(repository.format == "safetensors" || repository.format == "gguf")
        #expect(repository.files.map(\.path) == files.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(repository.sizeBytes == files.values.reduce(0) { $0 + Int64($1.count) })
        for file in repository.files {
            let bytes = try #require(files[file.path])
            #expect(file.sha256 == sha256(bytes), "\(file.path)")
            #expect(file.blobID == (file.isGitBlob ? gitBlobID(bytes) : sha256(bytes)), "\(file.path)")
            #expect(inventory.item(modelID: file.modelID)?.entry.sha256 == file.sha256)
        }
        #expect(repository.file(atPath: "config.json")?.isGitBlob == true)
        #expect(repository.file(atPath: "tiny-Q4_K_M.gguf")?.manifestReference != nil, "hashed files name their manifest")
        // What the catalog carries decodes as the wire demands.
        let decoded = try WireCoding.decode(RepositoryEntry.self, from: WireCoding.encode(repository))
        #expect(decoded == repository)
    }

    @Test func aRepositoryIsOfferedOnlyOnceEveryFileIsHashedAndEveryBlobMatches() async throws {
        let fixture = try ScanFixture()
        defer { fixture.remove() }
        _ = try buildRepository(fixture)
        let inventory = Inventory(roots: ScanRoots(huggingFaceHub: fixture.url("hub")), database: try StateDatabase(), logger: logger)
        // Cancelled before hashing: the git files are not hashed yet, so no repository.
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await inventory.refresh()
        }
        _ = await task.result
        #expect(inventory.hasListed && inventory.repositories.isEmpty)
        try await inventory.refresh()
        #expect(inventory.repositories.count == 1)
        // A blob that does not match its name withdraws its file, and so the repository.
        let liar = String(repeating: "9", count: 64)
        try fixture.hfFile(repo: "models--org--tiny", commit: Self.commit, path: "extra.safetensors", blob: liar, MagicBytes.safetensors())
        try await inventory.refresh()
        #expect(inventory.repositories.isEmpty)
        #expect(inventory.entries.count == 2, "the standalone files stay")
    }

    @Test func aGitBlobWhoseBytesDoNotMatchItsNameIsNotOffered() async throws {
        let fixture = try ScanFixture()
        defer { fixture.remove() }
        _ = try buildRepository(fixture)
        // Other bytes of the same size under config.json's git blob name.
        let config = MagicBytes.text(#"{"model_type":"llama"}"#)
        var other = config
        other[other.count - 2] = UInt8(ascii: "X")
        try fixture.file("hub/models--org--tiny/blobs/\(gitBlobID(config))", other)
        let inventory = Inventory(roots: ScanRoots(huggingFaceHub: fixture.url("hub")), database: try StateDatabase(), logger: logger)
        try await inventory.refresh()
        #expect(!inventory.servedEntries.contains { $0.modelID == "org--tiny--config.json" })
        #expect(inventory.repositories.isEmpty, "a repository with a file missing is not offered")
        // Put right, it is offered at the next scan.
        try fixture.file("hub/models--org--tiny/blobs/\(gitBlobID(config))", config)
        try await inventory.refresh()
        #expect(inventory.repositories.count == 1)
    }

    @Test func aSnapshotTheWireWouldRefuseIsNotOffered() async throws {
        let fixture = try ScanFixture()
        defer { fixture.remove() }
        // Not a 40-hex commit: the files are served, no repository.
        try fixture.hfFile(repo: "models--org--odd", commit: "c0ffee", path: "config.json", blob: gitBlobID([1]), [1])
        // A file copied into the snapshot (no blob): no repository either.
        try fixture.file("hub/models--org--copied/snapshots/\(Self.commit)/config.json", [1, 2])
        let inventory = Inventory(roots: ScanRoots(huggingFaceHub: fixture.url("hub")), database: try StateDatabase(), logger: logger)
        try await inventory.refresh()
        #expect(inventory.repositories.isEmpty)
        #expect(inventory.servedEntries.count == 2 && inventory.entries.isEmpty)
    }

    @Test func standaloneRules() {
        let paths: Set<String> = ["a.gguf", "b-00001-of-00003.gguf", "m.onnx", "x/n.onnx", "x/n.onnx_data", "t.tflite", "w.safetensors"]
        let standalone = paths.filter { path in
            let format = FormatSniffer.fileExtension(of: path) == "onnx_data" ? "onnx_data" : FormatSniffer.fileExtension(of: path)
            return ModelScanner.isStandaloneHubFile(format: format, path: path, paths: paths)
        }
        #expect(standalone == ["a.gguf", "m.onnx", "t.tflite"])
        #expect(ModelScanner.isSplitPart("Qwen3-Q4_K_M-00002-of-00003.gguf") && !ModelScanner.isSplitPart("Qwen3-of-it.gguf"))
    }
}
