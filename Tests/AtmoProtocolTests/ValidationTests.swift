import Testing

@testable import AtmoProtocol

/// `Validation`, `ModelEntry.fileName`, `ModelEntry.kind` and format checks.
struct ValidationTests {
    @Test(arguments: [
        "yolov8n", "yolov8n_20240208_143000", "Qwen3-1.7B-Q4_K_M", "a", "0", "model.v2.pt", "a.b", "a-", "a_", "a.",
        "unsloth--Qwen3-1.7B-GGUF--qwen3-1.7b-q4_k_m.gguf", String(repeating: "a", count: 200),
    ])
    func validModelIDs(_ id: String) throws {
        #expect(Validation.isValidModelID(id))
        try Validation.checkModelID(id)
    }

    @Test(arguments: StrictnessTests.badModelIDs)
    func invalidModelIDs(_ id: String) {
        #expect(!Validation.isValidModelID(id))
        #expect(throws: WireError.self) { try Validation.checkModelID(id) }
        do {
            try Validation.checkModelID(id)
        } catch {
            #expect(error.code == .invalidModelID)
            #expect(error.message.contains("model_id"))
        }
    }

    @Test func sha256() {
        #expect(Validation.isValidSHA256(Fixtures.sha))
        #expect(Validation.isValidSHA256(String(repeating: "0", count: 64)))
        #expect(!Validation.isValidSHA256(Fixtures.sha.uppercased()))
        #expect(!Validation.isValidSHA256(String(Fixtures.sha.dropLast())))
        #expect(!Validation.isValidSHA256(Fixtures.sha + "0"))
        #expect(!Validation.isValidSHA256(String(repeating: "g", count: 64)))
        #expect(!Validation.isValidSHA256(""))
        #expect(!Validation.isValidSHA256(String(repeating: "é", count: 32)))
    }

    @Test func nodeIDs() {
        #expect(Validation.isValidNodeID("a1b2c3d4e5f60718"))
        #expect(Validation.isValidNodeID("llamafarm-mac-12345"))
        #expect(Validation.isValidNodeID(String(repeating: "n", count: 128)))
        #expect(!Validation.isValidNodeID(String(repeating: "n", count: 129)))
        #expect(!Validation.isValidNodeID(""))
        #expect(!Validation.isValidNodeID("has space"))
        #expect(!Validation.isValidNodeID("tab\t"))
        #expect(!Validation.isValidNodeID("nul\u{0}"))
        #expect(!Validation.isValidNodeID("ünïcode"))
    }

    @Test(arguments: ["", "pt", "gguf", "tflite", "onnx", "safetensors", "bin", "mlpackage", "h5", String(repeating: "x", count: 16)])
    func validFormats(_ format: String) throws {
        #expect(Validation.isValidFormat(format))
        let entry = try Fixtures.decode(ModelEntry.self, Fixtures.entryJSON(["format": Fixtures.quoted(format)]))
        #expect(entry.format == format)
    }

    @Test(arguments: ["../../etc/cron.d/x", "/x", "pt/", "p.t", "tar.gz", "p t", "pt\u{0}", "ptö", String(repeating: "x", count: 17)])
    func invalidFormatsAreRefused(_ format: String) {
        #expect(!Validation.isValidFormat(format))
        Fixtures.expectRejected(
            ModelEntry.self, Fixtures.entryJSON(["format": Fixtures.quoted(format)]), code: .invalidValue, field: "format")
        let start = """
            {"type":"model_transfer_start","request_id":"r","model_id":"m","total_bytes":1,"sha256":"\(Fixtures.sha)",
             "metadata":{"name":"m","format":\(Fixtures.quoted(format))}}
            """
        Fixtures.expectRejected(ModelTransferStart.self, start, code: .invalidValue, field: "metadata.format")
    }

    @Test func formatIsLowercasedAndMayBeMissing() throws {
        #expect(try Fixtures.decode(ModelEntry.self, Fixtures.entryJSON(["format": "\"SafeTensors\""])).format == "safetensors")
        #expect(try Fixtures.decode(ModelEntry.self, Fixtures.entryJSON(["format": Fixtures.absent])).format == "")
        #expect(try Fixtures.decode(ModelEntry.self, Fixtures.entryJSON(["format": "null"])).format == "")
    }

    static func entry(_ id: String, _ format: String) -> ModelEntry {
        ModelEntry(modelID: id, name: id, type: "llm", format: format, sizeBytes: 1, sha256: Fixtures.sha)
    }

    @Test(arguments: [
        ("yolov8n", "pt", "yolov8n.pt"),
        ("qwen3-1.7b-q4_k_m.gguf", "gguf", "qwen3-1.7b-q4_k_m.gguf"),
        ("Qwen3-1.7B-Q4_K_M.GGUF", "gguf", "Qwen3-1.7B-Q4_K_M.GGUF"),
        ("model.gguf", "GGUF", "model.gguf"),
        ("model", "GGUF", "model.gguf"),
        ("yolov8n.pt", "onnx", "yolov8n.pt.onnx"),
        ("mygguf", "gguf", "mygguf.gguf"),
        ("noext", "", "noext"),
        // A format that could name a path is never appended.
        ("yolov8n", "/../../etc/passwd", "yolov8n"),
        ("yolov8n", "p.t", "yolov8n"),
    ])
    func fileName(_ id: String, _ format: String, _ expected: String) {
        #expect(Self.entry(id, format).fileName == expected)
    }

    @Test(arguments: [
        ("vision", ModelKind.vision), ("llm", .llm), ("audio", .audio), ("embedding", .embedding), ("multimodal", .unknown),
        ("unknown", .unknown), ("", .unknown), ("LLM", .unknown),
    ])
    func kindOfABuiltEntry(_ type: String, _ kind: ModelKind) {
        var entry = Self.entry("m", "gguf")
        entry.type = type
        #expect(entry.kind == kind)
    }

    @Test(arguments: ["Vision", "LLM", "Audio", "EMBEDDING"])
    func decodedTypeIsLowercased(_ type: String) throws {
        let entry = try Fixtures.decode(ModelEntry.self, Fixtures.entryJSON(["type": Fixtures.quoted(type)]))
        #expect(entry.type == type.lowercased())
        #expect(entry.kind.rawValue == type.lowercased())
    }

    @Test func missingTypeIsUnknown() throws {
        let entry = try Fixtures.decode(ModelEntry.self, Fixtures.entryJSON())
        #expect(entry.type == "unknown")
        #expect(entry.kind == .unknown)
        #expect(ModelKind.allCases.map(\.rawValue) == ["vision", "llm", "audio", "embedding", "unknown"])
    }

    @Test(arguments: ["http://192.168.1.100:14345", "https://node.local", "HTTP://10.0.0.1:80/base", "http://[fe80::1]:14750"])
    func validHTTPEndpoints(_ url: String) {
        #expect(Validation.isValidHTTPEndpoint(url))
    }
}

/// `Validation.isStrictBase64`.
struct Base64Tests {
    @Test(arguments: ["", "aGk=", "aGVsbG8=", "aGVsbG8h", "YQ==", "+/+/", "AAAA"])
    func accepted(_ text: String) { #expect(Validation.isStrictBase64(text)) }

    @Test(arguments: ["====", "a===", "aGk", "aGk==", "aG=k", "=aGk", "aGk= ", "-_8=", "aGVsbG8=aGk=", "aGk\n", "ａGk="])
    func refused(_ text: String) { #expect(!Validation.isStrictBase64(text)) }
}
