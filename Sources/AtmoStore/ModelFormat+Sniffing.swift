// Format and type detection for model files, from a few KiB of header bytes plus names.
//
// Format rules, bytes first:
//   "GGUF" at offset 0                                        -> "gguf"
//   u64 LE header length N (0 < N < 100 MB) followed by '{'   -> "safetensors"
//   "TFL3" at offset 4                                        -> "tflite"
//   "PK\x03\x04" at offset 0 (zip)                            -> "pt", except that a zip whose
//       extension names another zip container (.zip, .npz, .keras, ...) keeps that extension
//   pickle protocol 2-5 (0x80 0x02...0x05)                    -> "pt" if named .pt/.pth, else "bin"
// then by name: ".onnx" -> "onnx" (ONNX has no magic); otherwise the lowercased extension
// ("json", "txt", "model", "bin", "npz", "mlmodel", ...), "bin" when there is none. A name
// alone never makes a file "pt": a `.bin` or `.safetensors` is "pt" only if its bytes say so.
//
// Type rules ("llm", "vision", "audio", "embedding", "unknown"), first match wins:
//   1. the LlamaFarm category folder (`vision/`, `llm/`, `audio/`, `embedding(s)/`), if given;
//   2. keywords in the file name and context (repo id, folder names): embedding
//      (embed, minilm, bge, e5-, gte-), then audio (whisper, wav2vec, tts, speech, encodec...),
//      then vision (yolo, detr, vit, resnet, sam, segformer, clip...), then llm (llama, qwen,
//      mistral, gemma, phi, gpt, smol...);
//   3. "gguf" files are "llm";
//   4. otherwise "unknown".
// Decision for config/tokenizer files (json, txt, model, ...): they carry no keywords of their
// own, so they inherit whatever the repo id / folder implies (`openai/whisper-small`'s
// `config.json` is "audio") and are "unknown" when nothing does. That keeps a whole repo under
// one type when a catalog is filtered by type.

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Detects a model file's `format` and `type` from its first bytes and its names.
///
/// Pure apart from ``readHeader(path:maxBytes:)``, which reads at most a few KiB of a file.
package enum FormatSniffer {
    /// How many header bytes the scanner reads for sniffing.
    package static let headerSize = 4096

    /// Extensions of zip containers that are not PyTorch checkpoints: such a zip keeps its extension.
    static let nonTorchZipExtensions: Set<String> = [
        "zip", "npz", "keras", "jar", "whl", "apk", "docx", "xlsx", "pptx", "mlpackage", "nemo",
    ]

    /// Extensions under which a PyTorch zip or pickle is labelled "pt".
    static let torchExtensions: Set<String> = ["pt", "pth"]

    /// Sniffs format and type from the header bytes and the file name alone.
    package static func sniff(header: [UInt8], fileName: String) -> (format: String, type: String) {
        sniff(header: header, fileName: fileName, context: [], category: nil)
    }

    /// Sniffs format and type.
    /// - Parameters:
    ///   - header: the first bytes of the file (up to ``headerSize``; fewer for small files).
    ///   - fileName: the file's own name (last path component).
    ///   - context: extra names that hint at the type, e.g. the HF repo id or folder names.
    ///   - category: the LlamaFarm sub-folder (`vision`, `llm`, ...), which wins when it names a type.
    package static func sniff(
        header: [UInt8],
        fileName: String,
        context: [String],
        category: String?
    ) -> (format: String, type: String) {
        let format = sniffFormat(header: header, fileName: fileName)
        let type = inferType(format: format, fileName: fileName, context: context, category: category)
        return (format, type)
    }

    /// The format string for a header and a file name (see the file header for the rules).
    package static func sniffFormat(header: [UInt8], fileName: String) -> String {
        let ext = fileExtension(of: fileName)
        if header.starts(with: Array("GGUF".utf8)) {
            return "gguf"
        }
        if isSafetensors(header) {
            return "safetensors"
        }
        if header.count >= 8, Array(header[4..<8]) == Array("TFL3".utf8) {
            return "tflite"
        }
        if header.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            return nonTorchZipExtensions.contains(ext) ? ext : "pt"
        }
        if header.count >= 2, header[0] == 0x80, (2...5).contains(header[1]) {
            return torchExtensions.contains(ext) ? "pt" : "bin"
        }
        if ext == "onnx" {
            return "onnx"
        }
        return ext.isEmpty ? "bin" : ext
    }

    /// True when the bytes start like a safetensors file: a little-endian u64 JSON length in
    /// (0, 100 MB) followed by `{`.
    static func isSafetensors(_ header: [UInt8]) -> Bool {
        guard header.count >= 9 else { return false }
        var length: UInt64 = 0
        for index in (0..<8).reversed() {
            length = (length << 8) | UInt64(header[index])
        }
        return length > 0 && length < 100_000_000 && header[8] == UInt8(ascii: "{")
    }

    /// The lowercased extension without the dot, or "" when there is none or it is not a plain
    /// short alphanumeric word (so odd names cannot leak into a format string).
    package static func fileExtension(of fileName: String) -> String {
        guard let dot = fileName.lastIndex(of: "."), dot != fileName.startIndex else { return "" }
        let ext = fileName[fileName.index(after: dot)...].lowercased()
        guard !ext.isEmpty, ext.count <= 16,
            ext.unicodeScalars.allSatisfy({ ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") })
        else { return "" }
        return ext
    }

    // MARK: - Type

    static let categoryTypes: [String: String] = [
        "vision": "vision", "llm": "llm", "llms": "llm", "audio": "audio",
        "embedding": "embedding", "embeddings": "embedding",
    ]

    /// Keywords per type, in the order they are tried. A keyword matches a word of the names
    /// (split on anything not a letter or digit) when the word starts with it; `exact` keywords
    /// must equal the word; `contained` keywords may appear anywhere inside a word.
    struct Keywords {
        var type: String
        var prefix: [String]
        var exact: [String] = []
        var contained: [String] = []
    }

    static let keywordTable: [Keywords] = [
        Keywords(type: "embedding", prefix: ["minilm", "bge", "mpnet"], exact: ["e5", "gte"], contained: ["embed"]),
        Keywords(
            type: "audio",
            prefix: ["wav2vec", "tts", "encodec", "hubert"],
            contained: ["whisper", "speech", "audio"]
        ),
        Keywords(
            type: "vision",
            prefix: ["vit", "sam2", "clip", "dino", "convnext", "mobilenet", "efficientnet", "deeplab", "siglip"],
            exact: ["sam"],
            contained: ["yolo", "detr", "resnet", "segformer"]
        ),
        Keywords(
            type: "llm",
            prefix: [
                "llama", "qwen", "mistral", "mixtral", "gemma", "phi", "gpt", "smol", "deepseek", "falcon", "olmo",
            ],
            contained: ["llama", "qwen", "mistral", "gemma"]
        ),
    ]

    /// The type for a sniffed format and the names around the file.
    package static func inferType(format: String, fileName: String, context: [String], category: String?) -> String {
        if let category, let type = categoryTypes[category.lowercased()] {
            return type
        }
        let words = ([fileName] + context).flatMap(splitWords)
        for entry in keywordTable where matches(entry, words) {
            return entry.type
        }
        return format == "gguf" ? "llm" : "unknown"
    }

    static func splitWords(_ text: String) -> [String] {
        text.lowercased()
            .split(whereSeparator: { !($0.isLetter || $0.isNumber) })
            .map(String.init)
    }

    static func matches(_ entry: Keywords, _ words: [String]) -> Bool {
        words.contains { word in
            entry.prefix.contains { word.hasPrefix($0) } || entry.exact.contains(word)
                || entry.contained.contains { word.contains($0) }
        }
    }

    // MARK: - Reading

    /// Reads at most `maxBytes` from the start of the file at `path` (never the whole file).
    /// Returns an empty array if the file cannot be opened or read.
    package static func readHeader(path: String, maxBytes: Int = headerSize) -> [UInt8] {
        guard maxBytes > 0 else { return [] }
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        var filled = 0
        while filled < maxBytes {
            let count = buffer.withUnsafeMutableBytes { raw in
                read(fd, raw.baseAddress! + filled, maxBytes - filled)
            }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            filled += count
        }
        return Array(buffer.prefix(filled))
    }
}
