import Foundation
import Testing

@testable import AtmoStore

struct ModelScannerTests {
    static let commitMain = "0123456789abcdef0123456789abcdef01234567"
    static let commitOld = "fedcba9876543210fedcba9876543210fedcba98"

    /// Builds the whole fixture: HF hub, LlamaFarm, an extra folder, a pulled store.
    func buildTree(_ tree: ScanFixture) throws {
        let (main, old) = (Self.commitMain, Self.commitOld)
        let unsloth = "models--unsloth--Qwen3-1.7B-GGUF"
        let other = "models--otherorg--Qwen3-1.7B-GGUF"  // same repo name, other org
        let qwen = "models--Qwen--Qwen3-0.6B"  // shards, an index, a nested export
        let hubFiles: [(repo: String, commit: String, path: String, blob: String, bytes: [UInt8])] = [
            (unsloth, main, "Qwen3-1.7B-Q4_K_M.gguf", hex("a", 64), MagicBytes.gguf()),
            (unsloth, main, "Qwen3-1.7B-Q8_0.gguf", hex("b", 64), MagicBytes.gguf(padding: 99)),
            (unsloth, main, "config.json", hex("c", 40), MagicBytes.text("{}")),
            (unsloth, old, "old-only.gguf", hex("d", 64), MagicBytes.gguf()),
            (other, "1111", "Qwen3-1.7B-Q4_K_M.gguf", hex("e", 64), MagicBytes.gguf()),
            (other, "2222", "stale.gguf", hex("f", 64), MagicBytes.gguf()),
            (qwen, main, "model-00001-of-00002.safetensors", hex("1", 64), MagicBytes.safetensors()),
            (qwen, main, "model-00002-of-00002.safetensors", hex("2", 64), MagicBytes.safetensors()),
            (qwen, main, "model.safetensors.index.json", hex("3", 40), MagicBytes.text(#"{"weight_map":{}}"#)),
            (qwen, main, "onnx/sub/model.onnx", hex("4", 64), [0x08, 0x07, 0x12]),
            ("models--gpt2", main, "pytorch_model.bin", hex("6", 64), MagicBytes.pickle()),  // no org; pickle
            ("datasets--org--data", main, "train.bin", hex("7", 64), MagicBytes.gguf()),
        ]
        for file in hubFiles {
            try tree.hfFile(repo: file.repo, commit: file.commit, path: file.path, blob: file.blob, file.bytes)
        }
        for repo in [unsloth, qwen, "models--gpt2"] {
            try tree.file("hub/\(repo)/refs/main", MagicBytes.text(main + "\n"))
        }
        try tree.file("hub/\(qwen)/blobs/\(hex("5", 64)).incomplete", MagicBytes.gguf())
        // refs/main wins over a newer snapshot; without refs/main the newest snapshot by mtime wins.
        try tree.touch("hub/\(unsloth)/snapshots/\(old)", Date())
        try tree.touch("hub/\(unsloth)/snapshots/\(main)", Date(timeIntervalSince1970: 1_000_000))
        try tree.touch("hub/\(other)/snapshots/1111", Date())
        try tree.touch("hub/\(other)/snapshots/2222", Date(timeIntervalSince1970: 1_000_000))
        try tree.file("hub/.locks/models--gpt2/x.lock", [1])

        try tree.file("llamafarm/vision/yolov8n_20240208_101500/model.pt", MagicBytes.zip())
        try tree.file("llamafarm/vision/yolov8n_20240208_101500/args.yaml", MagicBytes.text("epochs: 3"))
        try tree.file("llamafarm/vision/yolov8n_20240208_101500/model.pt.partial", MagicBytes.zip())
        try tree.file("llamafarm/vision/custom_det/weights/best.pt", MagicBytes.pickle())
        try tree.file("llamafarm/vision/custom_det/weights/last.pt", MagicBytes.pickle())
        try tree.link("llamafarm/vision/custom_det/loop", to: "..")
        try tree.file("llamafarm/llm/my-adapter/model.gguf", MagicBytes.gguf())
        try tree.file("llamafarm/audio/model.tflite", MagicBytes.tflite())
        try tree.file("llamafarm/.DS_Store", [1, 2])
        try tree.file("llamafarm/vision/empty.pt", [])

        try tree.file("extra/whisper/ggml-base.bin", [9, 9, 9, 9])
        try tree.file("extra/bge-small.onnx", [0x08, 0x07])
        try tree.file("extra/café model.gguf", MagicBytes.gguf())
        try tree.file("extra/notes.txt.lock", [1])
        try tree.file("extra/dl.gguf.atmo-partial", MagicBytes.gguf())
        try tree.file("extra/.hidden.gguf", MagicBytes.gguf())

        let sidecar = #"""
            {"model_id":"yolov8n_20240208_101500","name":"yolov8n","type":"vision","format":"pt","size_bytes":12,
             "sha256":"ABCDEF","version":"2024.02.08.001","source":"llamafarm_training","source_ref":"local",
             "downloaded_from":"node-1"}
            """#
        try tree.file("pulled/yolov8n_20240208_101500.pt", MagicBytes.zip())
        try tree.file("pulled/yolov8n_20240208_101500.json", MagicBytes.text(sidecar))
        try tree.file("pulled/tiny.gguf", MagicBytes.gguf())
        try tree.file("pulled/tiny.json", MagicBytes.text(#"{"model_id":"tiny","version":3}"#))
        try tree.file("pulled/orphan.gguf", MagicBytes.gguf())
        try tree.file("pulled/next.gguf.atmo-partial", MagicBytes.gguf())
    }

    func scanAll(_ tree: ScanFixture) -> [ScannedFile] {
        ModelScanner(
            roots: ScanRoots(
                llamaFarmModels: tree.url("llamafarm"),
                huggingFaceHub: tree.url("hub"),
                extraFolders: [tree.url("extra")],
                pulledModels: tree.url("pulled")
            )
        ).scan()
    }

    @Test func idsFollowTheSchemeAndAreUnique() throws {
        let tree = try ScanFixture()
        defer { tree.remove() }
        try buildTree(tree)
        let files = scanAll(tree)
        let ids = files.map(\.modelID)
        let cafe = ModelIdentifier.sanitize("café model.gguf")
        let yoloSuffix = ids.first { $0.hasPrefix("yolov8n_20240208_101500-") && $0.count == 23 + 9 }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy(isWireValid))
        let expected: Set<String> = [
            "unsloth--Qwen3-1.7B-GGUF--Qwen3-1.7B-Q4_K_M.gguf", "unsloth--Qwen3-1.7B-GGUF--Qwen3-1.7B-Q8_0.gguf",
            "unsloth--Qwen3-1.7B-GGUF--config.json", "otherorg--Qwen3-1.7B-GGUF--Qwen3-1.7B-Q4_K_M.gguf",
            "Qwen--Qwen3-0.6B--model-00001-of-00002.safetensors", "Qwen--Qwen3-0.6B--model-00002-of-00002.safetensors",
            "Qwen--Qwen3-0.6B--model.safetensors.index.json", "Qwen--Qwen3-0.6B--onnx--sub--model.onnx",
            "gpt2--pytorch_model.bin",
            "yolov8n_20240208_101500", yoloSuffix ?? "missing", "yolov8n_20240208_101500--args.yaml",
            "custom_det--weights--best.pt", "custom_det--weights--last.pt", "my-adapter", "audio--model.tflite",
            "whisper--ggml-base.bin", "bge-small.onnx", cafe, "tiny",
        ]
        #expect(Set(ids) == expected)
        #expect(cafe.hasPrefix("caf__model.gguf-") && cafe.count == "caf__model.gguf-".count + 8)
        // The pulled copy keeps the id; the LlamaFarm file with the same id gets the suffix.
        #expect(files.first { $0.modelID == "yolov8n_20240208_101500" }?.source == "llamafarm_training")
        #expect(
            files.first { $0.modelID == "yolov8n_20240208_101500" }?.path.hasSuffix(
                "/pulled/yolov8n_20240208_101500.pt"
            ) == true
        )
        let suffixed = files.first { $0.modelID == yoloSuffix }
        #expect(suffixed?.metadata["llamafarm_folder"] == "yolov8n_20240208_101500" && suffixed?.format == "pt")
        #expect(scanAll(tree) == files)  // deterministic
    }

    @Test func huggingFaceDetails() throws {
        let tree = try ScanFixture()
        defer { tree.remove() }
        try buildTree(tree)
        let byID = Dictionary(uniqueKeysWithValues: scanAll(tree).map { ($0.modelID, $0) })
        let blobs = tree.root.resolvingSymlinksInPath().path + "/hub/models--unsloth--Qwen3-1.7B-GGUF/blobs/"

        let q4 = try #require(byID["unsloth--Qwen3-1.7B-GGUF--Qwen3-1.7B-Q4_K_M.gguf"])
        #expect(q4.name == "Qwen3-1.7B-Q4_K_M")
        #expect(q4.path == blobs + hex("a", 64))
        #expect(q4.knownSHA256 == hex("a", 64))
        #expect(
            (q4.format, q4.type, q4.source, q4.sourceRef) == ("gguf", "llm", "huggingface", "unsloth/Qwen3-1.7B-GGUF")
        )
        #expect(q4.version == String(Self.commitMain.prefix(12)))
        #expect(q4.sizeBytes == Int64(MagicBytes.gguf().count) && q4.inode != 0 && q4.modificationTimeNanos > 0)
        #expect(
            q4.metadata == [
                "hf_repo": "unsloth/Qwen3-1.7B-GGUF", "hf_path": "Qwen3-1.7B-Q4_K_M.gguf",
                "hf_revision": Self.commitMain,
            ]
        )
        #expect(byID["unsloth--Qwen3-1.7B-GGUF--Qwen3-1.7B-Q8_0.gguf"]?.knownSHA256 == hex("b", 64))
        let config = try #require(byID["unsloth--Qwen3-1.7B-GGUF--config.json"])
        #expect(config.knownSHA256 == nil && config.format == "json" && config.name == "Qwen3-1.7B-GGUF/config")

        let other = try #require(byID["otherorg--Qwen3-1.7B-GGUF--Qwen3-1.7B-Q4_K_M.gguf"])
        #expect(other.version == "1111" && other.sourceRef == "otherorg/Qwen3-1.7B-GGUF")

        let shard = try #require(byID["Qwen--Qwen3-0.6B--model-00001-of-00002.safetensors"])
        #expect((shard.format, shard.type, shard.name) == ("safetensors", "llm", "Qwen3-0.6B/model-00001-of-00002"))
        let onnx = try #require(byID["Qwen--Qwen3-0.6B--onnx--sub--model.onnx"])
        #expect(
            onnx.format == "onnx" && onnx.metadata["hf_path"] == "onnx/sub/model.onnx"
                && onnx.knownSHA256 == hex("4", 64)
        )
        #expect(byID["Qwen--Qwen3-0.6B--model.safetensors.index.json"]?.knownSHA256 == nil)

        let gpt2 = try #require(byID["gpt2--pytorch_model.bin"])
        #expect((gpt2.format, gpt2.type, gpt2.sourceRef) == ("bin", "llm", "gpt2"))
        #expect(!byID.keys.contains { $0.contains("old-only") || $0.contains("stale") || $0.contains("train") })
    }

    @Test func llamaFarmExtraAndPulledDetails() throws {
        let tree = try ScanFixture()
        defer { tree.remove() }
        try buildTree(tree)
        let files = scanAll(tree)
        let byID = Dictionary(uniqueKeysWithValues: files.map { ($0.modelID, $0) })

        let yolo = try #require(
            files.first { $0.metadata["llamafarm_folder"] == "yolov8n_20240208_101500" && $0.format == "pt" }
        )
        #expect(
            (yolo.name, yolo.version, yolo.type, yolo.source, yolo.sourceRef) == (
                "yolov8n", "2024.02.08.101500", "vision", "llamafarm_training", "local"
            )
        )
        #expect(yolo.knownSHA256 == nil)
        let best = try #require(byID["custom_det--weights--best.pt"])
        #expect((best.format, best.type, best.name) == ("pt", "vision", "custom_det/weights/best"))
        #expect(best.version == ModelScanner.version(modificationTimeNanos: best.modificationTimeNanos))
        #expect(byID["my-adapter"].map { ($0.format, $0.type) } ?? ("", "") == ("gguf", "llm"))
        #expect(byID["audio--model.tflite"].map { ($0.format, $0.type) } ?? ("", "") == ("tflite", "audio"))

        let whisper = try #require(byID["whisper--ggml-base.bin"])
        #expect(
            (whisper.format, whisper.type, whisper.source, whisper.sourceRef) == ("bin", "audio", "imported", "local")
        )
        #expect(byID["bge-small.onnx"].map { ($0.format, $0.type) } ?? ("", "") == ("onnx", "embedding"))

        let pulled = try #require(byID["yolov8n_20240208_101500"])
        #expect(
            (pulled.name, pulled.type, pulled.format, pulled.version) == ("yolov8n", "vision", "pt", "2024.02.08.001")
        )
        #expect(pulled.knownSHA256 == nil && pulled.metadata["sidecar_sha256"] == "abcdef")
        let tiny = try #require(byID["tiny"])
        #expect(
            (tiny.name, tiny.format, tiny.type, tiny.version, tiny.source) == ("tiny", "gguf", "llm", "3", "imported")
        )
        #expect(
            !files.contains { $0.path.contains("orphan") || $0.path.hasSuffix(".json") && $0.path.contains("/pulled/") }
        )
        #expect(
            !files.contains { $0.path.contains("partial") || $0.path.contains("hidden") || $0.path.contains(".lock") }
        )
        #expect(!files.contains { $0.path.contains("empty.pt") || $0.path.contains("DS_Store") })
    }

    @Test func clashingIDsGetDeterministicSuffixes() {
        func candidate(_ id: String, rank: Int, origin: String) -> ModelScanner.Candidate {
            let file = ScannedFile(
                modelID: id,
                name: id,
                path: origin,
                sizeBytes: 1,
                modificationTimeNanos: 0,
                inode: 0,
                device: 0,
                format: "bin",
                type: "unknown",
                source: "imported",
                sourceRef: "local",
                version: "1",
                knownSHA256: nil,
                metadata: [:]
            )
            return ModelScanner.Candidate(rank: rank, origin: origin, file: file)
        }
        let input = [
            candidate("a--b--c", rank: 3, origin: "/z"), candidate("a--b--c", rank: 2, origin: "/y"),
            candidate("a--b--c", rank: 3, origin: "/x"),
        ]
        let first = ModelScanner.disambiguate(input)
        #expect(first == ModelScanner.disambiguate(input.reversed()))
        #expect(Set(first.map(\.modelID)).count == 3)
        #expect(first.first { $0.modelID == "a--b--c" }?.path == "/y")
        #expect(first.allSatisfy { isWireValid($0.modelID) })
        let long = String(repeating: "q", count: 200)
        let twice = ModelScanner.disambiguate([
            candidate(long, rank: 0, origin: "/1"), candidate(long, rank: 0, origin: "/2"),
        ])
        #expect(twice.allSatisfy { isWireValid($0.modelID) } && Set(twice.map(\.modelID)).count == 2)
    }

    @Test func missingRootsAreFine() {
        let nowhere = FileManager.default.temporaryDirectory.appendingPathComponent("absent-\(UUID().uuidString)")
        let roots = ScanRoots(
            llamaFarmModels: nowhere.appendingPathComponent("a"),
            huggingFaceHub: nowhere.appendingPathComponent("b"),
            extraFolders: [nowhere],
            pulledModels: nowhere.appendingPathComponent("c")
        )
        #expect(ModelScanner(roots: roots).scan().isEmpty)
        #expect(ModelScanner(roots: ScanRoots()).scan().isEmpty)
    }

    @Test func defaultRootsFollowHuggingFacePrecedence() {
        let home = URL(fileURLWithPath: "/home/user")
        let cache = ScanRoots.defaults(environment: ["HF_HUB_CACHE": "/data/hub", "HF_HOME": "/x"], home: home)
        #expect(cache.huggingFaceHub?.path == "/data/hub")
        #expect(cache.llamaFarmModels?.path == "/home/user/.llamafarm/models")
        #expect(cache.pulledModels == nil && cache.extraFolders.isEmpty)
        #expect(
            ScanRoots.defaults(environment: ["HF_HOME": "/srv/hf"], home: home).huggingFaceHub?.path == "/srv/hf/hub"
        )
        #expect(
            ScanRoots.defaults(environment: ["HF_HOME": "~/hf"], home: home).huggingFaceHub?.path == "/home/user/hf/hub"
        )
        #expect(
            ScanRoots.defaults(environment: ["XDG_CACHE_HOME": "/c"], home: home).huggingFaceHub?.path
                == "/c/huggingface/hub"
        )
        #expect(
            ScanRoots.defaults(environment: ["HF_HUB_CACHE": ""], home: home).huggingFaceHub?.path
                == "/home/user/.cache/huggingface/hub"
        )
        #expect(
            ScanRoots.defaults(environment: [:], home: home).huggingFaceHub?.path == "/home/user/.cache/huggingface/hub"
        )
    }
}

@Suite struct ScanExclusionTests {
    @Test func excludedFoldersAreNeverWalked() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("atmo-exclude-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let state = root.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        try Data("db".utf8).write(to: state.appendingPathComponent("atmo.sqlite"))
        try Data("GGUF model".utf8).write(to: root.appendingPathComponent("m.gguf"))

        let all = ModelScanner(roots: ScanRoots(extraFolders: [root])).scan().map(\.modelID)
        #expect(all.contains("state--atmo.sqlite"))
        let kept = ModelScanner(roots: ScanRoots(extraFolders: [root], excludedFolders: [state])).scan().map(\.modelID)
        #expect(kept == ["m.gguf"])
        // Excluding the root itself offers nothing from it.
        #expect(ModelScanner(roots: ScanRoots(extraFolders: [root], excludedFolders: [root])).scan().isEmpty)
    }
}
