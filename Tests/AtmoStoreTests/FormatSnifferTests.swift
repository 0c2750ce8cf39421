import Foundation
import Testing

@testable import AtmoStore

/// Real magic bytes for the formats the sniffer knows, padded like a real file start.
enum MagicBytes {
    static func gguf(padding: Int = 64) -> [UInt8] {
        Array("GGUF".utf8) + [3, 0, 0, 0] + [UInt8](repeating: 0x11, count: padding)
    }

    static func safetensors(json: String = #"{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#) -> [UInt8] {
        let header = Array(json.utf8)
        let length = UInt64(header.count)
        let lengthBytes = (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) }
        return lengthBytes + header + [1, 2, 3, 4]
    }

    static func zip() -> [UInt8] {
        [0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00] + Array("archive/data.pkl".utf8)
    }

    static func pickle(protocol version: UInt8 = 2) -> [UInt8] {
        [0x80, version, 0x8A, 0x0A] + [UInt8](repeating: 0x6C, count: 32)
    }

    static func tflite() -> [UInt8] {
        [0x1C, 0x00, 0x00, 0x00] + Array("TFL3".utf8) + [UInt8](repeating: 0, count: 32)
    }

    static func text(_ string: String) -> [UInt8] { Array(string.utf8) }
}

/// A real folder tree under the temporary directory, removed by `remove()`.
struct ScanFixture {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("atmo-scan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    func remove() { try? FileManager.default.removeItem(at: root) }

    @discardableResult
    func file(_ relative: String, _ bytes: [UInt8], modified: Date? = nil) throws -> URL {
        let target = url(relative)
        try FileManager.default.createDirectory(
            at: target.deletingLastPathComponent(),
            withIntermediateDirectories: true
        )
        try Data(bytes).write(to: target)
        if let modified {
            try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: target.path)
        }
        return target
    }

    func link(_ relative: String, to destination: String) throws {
        let target = url(relative)
        try FileManager.default.createDirectory(
            at: target.deletingLastPathComponent(),
            withIntermediateDirectories: true
        )
        try FileManager.default.createSymbolicLink(atPath: target.path, withDestinationPath: destination)
    }

    func touch(_ relative: String, _ date: Date) throws {
        try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: url(relative).path)
    }

    /// One HF snapshot file: the blob plus the relative symlink the hub makes.
    func hfFile(repo: String, commit: String, path: String, blob: String, _ bytes: [UInt8]) throws {
        try file("hub/\(repo)/blobs/\(blob)", bytes)
        let depth = path.split(separator: "/").count + 1
        let up = String(repeating: "../", count: depth)
        try link("hub/\(repo)/snapshots/\(commit)/\(path)", to: "\(up)blobs/\(blob)")
    }
}

func hex(_ character: Character, _ count: Int) -> String { String(repeating: character, count: count) }

func isWireValid(_ id: String) -> Bool {
    guard let regex = try? Regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$") else { return false }
    return id.wholeMatch(of: regex) != nil && !id.contains("..")
}

struct FormatSnifferTests {
    @Test(
        arguments: [
            (MagicBytes.gguf(), "Qwen3-1.7B-Q4_K_M.gguf", "gguf"),
            (MagicBytes.gguf(), "weights.bin", "gguf"),
            (MagicBytes.safetensors(), "model-00001-of-00002.safetensors", "safetensors"),
            (MagicBytes.safetensors(), "adapter.bin", "safetensors"),
            (MagicBytes.tflite(), "detector.tflite", "tflite"),
            (MagicBytes.tflite(), "detector", "tflite"),
            (MagicBytes.zip(), "model.pt", "pt"),
            (MagicBytes.zip(), "model.pth", "pt"),
            (MagicBytes.zip(), "pytorch_model.bin", "pt"),
            (MagicBytes.zip(), "last.ckpt", "pt"),
            (MagicBytes.zip(), "checkpoint", "pt"),
            (MagicBytes.zip(), "bundle.zip", "zip"),
            (MagicBytes.zip(), "arrays.npz", "npz"),
            (MagicBytes.pickle(), "best.pt", "pt"),
            (MagicBytes.pickle(protocol: 5), "best.PTH", "pt"),
            (MagicBytes.pickle(), "pytorch_model.bin", "bin"),
            (MagicBytes.pickle(protocol: 4), "stuff.pkl", "bin"),
            (MagicBytes.text("\u{08}\u{01}\u{12}\u{07}pytorch"), "model.onnx", "onnx"),
            (MagicBytes.text("\u{08}\u{01}"), "MODEL.ONNX", "onnx"),
        ] as [([UInt8], String, String)]
    )
    func formatFromBytes(header: [UInt8], fileName: String, expected: String) {
        #expect(FormatSniffer.sniffFormat(header: header, fileName: fileName) == expected)
    }

    @Test func binAndSafetensorsAreNeverPtByNameAlone() {
        let junk: [UInt8] = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09]
        #expect(FormatSniffer.sniffFormat(header: junk, fileName: "pytorch_model.bin") == "bin")
        #expect(FormatSniffer.sniffFormat(header: junk, fileName: "model.safetensors") == "safetensors")
        #expect(FormatSniffer.sniffFormat(header: [], fileName: "model.safetensors") == "safetensors")
        // Protocol 1 and 6 are not the pickles PyTorch writes.
        #expect(FormatSniffer.sniffFormat(header: [0x80, 0x01, 0, 0], fileName: "x.pt") == "pt")
        #expect(FormatSniffer.sniffFormat(header: [0x80, 0x06, 0, 0], fileName: "x.bin") == "bin")
    }

    @Test func safetensorsHeaderBounds() {
        var zeroLength = MagicBytes.safetensors()
        for index in 0..<8 { zeroLength[index] = 0 }
        #expect(!FormatSniffer.isSafetensors(zeroLength))
        var huge = MagicBytes.safetensors()
        huge.replaceSubrange(0..<8, with: [0x00, 0xE1, 0xF5, 0x05, 0, 0, 0, 0])  // 100_000_000
        #expect(!FormatSniffer.isSafetensors(huge))
        var noBrace = MagicBytes.safetensors()
        noBrace[8] = UInt8(ascii: "[")
        #expect(!FormatSniffer.isSafetensors(noBrace))
        #expect(!FormatSniffer.isSafetensors(Array(MagicBytes.safetensors().prefix(8))))
        #expect(FormatSniffer.isSafetensors(MagicBytes.safetensors()))
    }

    @Test(
        arguments: [
            ("tokenizer.json", "json"), ("vocab.txt", "txt"), ("tokenizer.model", "model"),
            ("coreml.mlmodel", "mlmodel"),
            ("weights.NPZ", "npz"), ("README", "bin"), (".gitattributes", "bin"),
            ("model.safetensors.index.json", "json"),
            ("odd.ex t", "bin"),
        ] as [(String, String)]
    )
    func formatFromExtension(fileName: String, expected: String) {
        #expect(FormatSniffer.sniffFormat(header: MagicBytes.text("plain text"), fileName: fileName) == expected)
    }

    @Test(
        arguments: [
            // (file name, context, category, format, expected type)
            ("Qwen3-1.7B-Q4_K_M.gguf", [], nil, "gguf", "llm"),
            ("mystery.gguf", [], nil, "gguf", "llm"),
            ("nomic-embed-text-v1.5.Q4_K_M.gguf", [], nil, "gguf", "embedding"),
            ("model.safetensors", ["sentence-transformers/all-MiniLM-L6-v2"], nil, "safetensors", "embedding"),
            ("model.onnx", ["BAAI/bge-small-en-v1.5"], nil, "onnx", "embedding"),
            ("model.safetensors", ["intfloat/multilingual-e5-large"], nil, "safetensors", "embedding"),
            ("model.safetensors", ["thenlper/gte-base"], nil, "safetensors", "embedding"),
            ("yolov8n.pt", [], nil, "pt", "vision"),
            ("model.safetensors", ["facebook/detr-resnet-50"], nil, "safetensors", "vision"),
            ("model.safetensors", ["google/vit-base-patch16-224"], nil, "safetensors", "vision"),
            ("mobile_sam.pt", [], nil, "pt", "vision"),
            ("model.safetensors", ["nvidia/segformer-b0"], nil, "safetensors", "vision"),
            ("model.safetensors", ["openai/clip-vit-base-patch32"], nil, "safetensors", "vision"),
            ("model.safetensors", ["openai/whisper-small"], nil, "safetensors", "audio"),
            ("ggml-base.bin", ["whisper"], nil, "bin", "audio"),
            ("model.safetensors", ["facebook/wav2vec2-base-960h"], nil, "safetensors", "audio"),
            ("model.safetensors", ["facebook/encodec_24khz"], nil, "safetensors", "audio"),
            ("pytorch_model.bin", ["microsoft/speecht5_tts"], nil, "bin", "audio"),
            ("model.safetensors", ["meta-llama/Llama-3.2-1B"], nil, "safetensors", "llm"),
            ("model.safetensors", ["TinyLlama/TinyLlama-1.1B-Chat"], nil, "safetensors", "llm"),
            ("model.safetensors", ["HuggingFaceTB/SmolLM2-135M"], nil, "safetensors", "llm"),
            ("pytorch_model.bin", ["gpt2"], nil, "bin", "llm"),
            ("model.safetensors", ["microsoft/phi-2"], nil, "safetensors", "llm"),
            ("model.safetensors", ["google/gemma-2b"], nil, "safetensors", "llm"),
            ("config.json", ["openai/whisper-small"], nil, "json", "audio"),
            ("config.json", ["someone/mystery"], nil, "json", "unknown"),
            ("tokenizer.model", [], nil, "model", "unknown"),
            ("sample.txt", [], nil, "txt", "unknown"),
            ("model.pt", ["vision", "custom_20240101_000000"], "vision", "pt", "vision"),
            ("model.gguf", [], "embeddings", "gguf", "embedding"),
            ("weights.bin", [], "audio", "bin", "audio"),
            ("whisper.bin", [], "llm", "bin", "llm"),
            ("yolo.pt", [], "misc", "pt", "vision"),
        ] as [(String, [String], String?, String, String)]
    )
    func typeInference(fileName: String, context: [String], category: String?, format: String, expected: String) {
        #expect(
            FormatSniffer.inferType(format: format, fileName: fileName, context: context, category: category)
                == expected
        )
    }

    @Test func sniffCombinesFormatAndType() {
        let gguf = FormatSniffer.sniff(header: MagicBytes.gguf(), fileName: "Qwen3-1.7B-Q4_K_M.gguf")
        #expect(gguf.format == "gguf" && gguf.type == "llm")
        let vision = FormatSniffer.sniff(header: MagicBytes.zip(), fileName: "yolov8n.pt")
        #expect(vision.format == "pt" && vision.type == "vision")
        let config = FormatSniffer.sniff(header: MagicBytes.text("{}"), fileName: "config.json")
        #expect(config.format == "json" && config.type == "unknown")
    }

    @Test func readHeaderReadsAtMostTheLimit() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sniff-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let big = folder.appendingPathComponent("big.bin")
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0) }
        try Data(bytes).write(to: big)
        let small = folder.appendingPathComponent("small.gguf")
        try Data(MagicBytes.gguf(padding: 4)).write(to: small)

        #expect(FormatSniffer.readHeader(path: big.path) == Array(bytes.prefix(4096)))
        #expect(FormatSniffer.readHeader(path: big.path, maxBytes: 10) == Array(bytes.prefix(10)))
        #expect(FormatSniffer.readHeader(path: small.path) == MagicBytes.gguf(padding: 4))
        #expect(FormatSniffer.readHeader(path: folder.appendingPathComponent("missing").path).isEmpty)
        #expect(FormatSniffer.readHeader(path: big.path, maxBytes: 0).isEmpty)
    }
}

// MARK: - Ids (part of the scanner's suite, kept here beside the other name rules)

extension ModelScannerTests {
    @Test func identifierSanitising() {
        #expect(ModelIdentifier.sanitize("unsloth--Qwen3-1.7B-GGUF--Q4.gguf") == "unsloth--Qwen3-1.7B-GGUF--Q4.gguf")
        let hash = { (text: String) in ModelIdentifier.shortHash(text) }
        #expect(ModelIdentifier.sanitize("a b/c") == "a_b_c-" + hash("a b/c"))
        #expect(ModelIdentifier.sanitize("a..b...c") == "a.b.c-" + hash("a..b...c"))
        #expect(ModelIdentifier.sanitize("../x") == "x-" + hash("../x"))
        #expect(ModelIdentifier.sanitize("") == "model-" + hash(""))
        #expect(ModelIdentifier.sanitize("a_b") != ModelIdentifier.sanitize("a b"))
        let long = String(repeating: "x", count: 250)
        let cut = ModelIdentifier.sanitize(long)
        #expect(cut.count == 200 && cut.hasSuffix("-" + hash(long)) && cut != ModelIdentifier.sanitize(long + "y"))
        #expect(ModelIdentifier.sanitize(String(repeating: "y", count: 200)) == String(repeating: "y", count: 200))
        for raw in ["日本語.gguf", "..", "-x", ".hidden", "a/../../b", String(repeating: "é.", count: 300), "ok"] {
            #expect(isWireValid(ModelIdentifier.sanitize(raw)), "\(raw)")
        }
        #expect(hash("abc") == "ba7816bf")
    }

    @Test func identifierBuilders() {
        #expect(ModelIdentifier.huggingFace(org: "", repo: "gpt2", path: "onnx/model.onnx") == "gpt2--onnx--model.onnx")
        #expect(
            ModelIdentifier.huggingFace(org: "a", repo: "r", path: "x.gguf")
                != ModelIdentifier.huggingFace(org: "b", repo: "r", path: "x.gguf")
        )
        #expect(
            ModelIdentifier.llamaFarm(folder: "yolo_20240101_000000", relativePath: "model.pt", isSoleModelFile: true)
                == "yolo_20240101_000000"
        )
        #expect(
            ModelIdentifier.llamaFarm(folder: "f", relativePath: "w/best.pt", isSoleModelFile: false) == "f--w--best.pt"
        )
        #expect(
            ModelIdentifier.llamaFarm(folder: nil, relativePath: "loose.gguf", isSoleModelFile: false) == "loose.gguf"
        )
        #expect(ModelIdentifier.extraFolder(relativePath: "a/b/c.bin") == "a--b--c.bin")
        #expect(ModelScanner.huggingFaceRepo(folderName: "models--gpt2")! == ("", "gpt2"))
        #expect(ModelScanner.huggingFaceRepo(folderName: "models--org--name")! == ("org", "name"))
        #expect(ModelScanner.huggingFaceRepo(folderName: "datasets--org--name") == nil)
        #expect(ModelScanner.splitTimestamp(folder: "yolov8n_20240208_101500") == ("yolov8n", "2024.02.08.101500"))
        #expect(ModelScanner.splitTimestamp(folder: "my_model_20240208") == ("my_model", "2024.02.08"))
        #expect(ModelScanner.splitTimestamp(folder: "model_20241399_000000") == ("model_20241399_000000", nil))
        #expect(ModelScanner.version(modificationTimeNanos: 1_707_386_100_000_000_000) == "2024.02.08.095500")
    }
}
