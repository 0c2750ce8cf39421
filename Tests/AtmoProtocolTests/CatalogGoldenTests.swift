import Foundation
import Testing

@testable import AtmoProtocol

/// `model_catalog` as older Python nodes and this implementation send it.
struct CatalogGoldenTests {
    /// An older Python node's catalog: no `protocol_version`, `classes: null`,
    /// `class_count: 0`, an unknown `type` and format, unknown fields at every level.
    static let pythonCatalog = """
        {
          "type": "model_catalog",
          "node_id": "llamafarm-mac-12345",
          "node_name": "Studio Mac",
          "timestamp": 1707400000123,
          "ttl_seconds": 300,
          "mesh_hint": "home-lab",
          "transfer_endpoints": {"http": "http://192.168.1.100:14345", "websocket": true, "quic": null, "relay": {"id": "r-7"}},
          "models": [
            {
              "model_id": "yolov8n_20240208_143000",
              "name": "YOLOv8 nano (pets)",
              "type": "vision",
              "format": "pt",
              "size_bytes": 6534387,
              "sha256": "\(Fixtures.sha)",
              "version": "2024.02.08.001",
              "capabilities": ["object_detection", "segmentation"],
              "base_model": "yolov8n",
              "classes": null,
              "class_count": 0,
              "source": "llamafarm_training",
              "source_ref": "ultralytics/yolov8n",
              "metadata": {"epochs": 50, "map50": 0.873, "dataset": {"name": "pets", "images": 1200}, "tags": ["a", null, true]},
              "license": "agpl-3.0"
            },
            {
              "model_id": "Qwen3-1.7B-Q4_K_M",
              "name": "Qwen3 1.7B",
              "type": "llm",
              "format": "GGUF",
              "size_bytes": 1107409472,
              "sha256": "\(Fixtures.shaABC.uppercased())",
              "version": 3,
              "capabilities": ["text_generation", "chat"],
              "classes": ["ignored"],
              "class_count": 80,
              "context_length": 32768,
              "source": "huggingface",
              "source_ref": "unsloth/Qwen3-1.7B-GGUF",
              "metadata": {}
            },
            {
              "model_id": "clip-vit-b32",
              "name": "CLIP",
              "type": "multimodal",
              "format": "mlpackage",
              "size_bytes": 0,
              "sha256": "\(Fixtures.sha)",
              "capabilities": [],
              "source": "imported",
              "source_ref": "local",
              "metadata": {"quantized": false}
            }
          ]
        }
        """

    @Test func decodesEnvelopeOfAnOlderNode() throws {
        let catalog = try Fixtures.decode(ModelCatalog.self, Self.pythonCatalog)
        #expect(catalog.protocolVersion == "1.0")
        #expect(catalog.nodeID == "llamafarm-mac-12345")
        #expect(catalog.nodeName == "Studio Mac")
        #expect(catalog.timestamp == 1_707_400_000_123)
        #expect(catalog.ttlSeconds == 300)
        #expect(catalog.models.count == 3)
        #expect(catalog.extra == ["mesh_hint": .string("home-lab")])
        #expect(catalog.transferEndpoints.http == "http://192.168.1.100:14345")
        #expect(catalog.transferEndpoints.websocket)
        #expect(catalog.transferEndpoints.extra == ["quic": .null, "relay": .object(["id": .string("r-7")])])
    }

    @Test func decodesEveryEntryField() throws {
        let models = try Fixtures.decode(ModelCatalog.self, Self.pythonCatalog).models
        let yolo = models[0]
        #expect(yolo.modelID == "yolov8n_20240208_143000")
        #expect(yolo.name == "YOLOv8 nano (pets)")
        #expect(yolo.type == "vision" && yolo.kind == .vision)
        #expect(yolo.format == "pt")
        #expect(yolo.sizeBytes == 6_534_387)
        #expect(yolo.sha256 == Fixtures.sha)
        #expect(yolo.version == "2024.02.08.001")
        #expect(yolo.capabilities == ["object_detection", "segmentation"])
        #expect(yolo.baseModel == "yolov8n")
        #expect(yolo.classes == nil)
        #expect(yolo.classCount == nil)
        #expect(yolo.contextLength == nil)
        #expect(yolo.source == "llamafarm_training")
        #expect(yolo.sourceRef == "ultralytics/yolov8n")
        #expect(yolo.metadata["epochs"] == .number(50))
        #expect(yolo.metadata["map50"] == .number(0.873))
        #expect(yolo.metadata["dataset"] == .object(["name": .string("pets"), "images": .number(1200)]))
        #expect(yolo.metadata["tags"] == .array([.string("a"), .null, .bool(true)]))
        #expect(yolo.extra == ["license": .string("agpl-3.0")])
        #expect(yolo.fileName == "yolov8n_20240208_143000.pt")

        let qwen = models[1]
        #expect(qwen.kind == .llm)
        #expect(qwen.format == "gguf")
        #expect(qwen.sha256 == Fixtures.shaABC)
        #expect(qwen.version == "3")
        #expect(qwen.classes == ["ignored"])
        #expect(qwen.classCount == 80)
        #expect(qwen.contextLength == 32768)
        #expect(qwen.baseModel == nil)
        #expect(qwen.extra.isEmpty)

        let clip = models[2]
        #expect(clip.type == "multimodal")
        #expect(clip.kind == .unknown)
        #expect(clip.format == "mlpackage")
        #expect(clip.sizeBytes == 0)
        #expect(clip.version == "")
        #expect(clip.metadata == ["quantized": .bool(false)])
    }

    /// Re-gossip keeps every unknown field; known fields come back normalised (nulls and
    /// "unknown" markers dropped, hex and format lowercased, `protocol_version` filled in).
    @Test func reencodesWithUnknownFieldsKept() throws {
        let catalog = try Fixtures.decode(ModelCatalog.self, Self.pythonCatalog)
        let reencoded = try WireCoding.encode(catalog)
        guard case .object(var expected) = try Fixtures.tree(Self.pythonCatalog),
            case .array(var models) = expected["models"],
            case .object(var yolo) = models[0], case .object(var qwen) = models[1], case .object(var clip) = models[2]
        else {
            Issue.record("fixture is not a catalog")
            return
        }
        expected["protocol_version"] = .string("1.0")
        yolo["classes"] = nil
        yolo["class_count"] = nil
        qwen["format"] = .string("gguf")
        qwen["sha256"] = .string(Fixtures.shaABC)
        qwen["version"] = .string("3")
        clip["version"] = .string("")
        models = [.object(yolo), .object(qwen), .object(clip)]
        expected["models"] = .array(models)
        #expect(try Fixtures.tree(reencoded) == .object(expected))
        // A second pass is a fixed point.
        let again = try WireCoding.decode(ModelCatalog.self, from: reencoded)
        #expect(again == catalog)
        #expect(try WireCoding.encode(again) == reencoded)
    }

    @Test func encodesACatalogBuiltInSwiftExactly() throws {
        let entry = ModelEntry(
            modelID: "yolov8n", name: "YOLOv8n", type: "vision", format: "pt", sizeBytes: 6_534_387, sha256: Fixtures.sha,
            version: "8.1.0", capabilities: ["object_detection"], classes: ["cat", "dog"], classCount: 2,
            source: "huggingface", sourceRef: "ultralytics/yolov8n", metadata: ["imgsz": .number(640)])
        let catalog = ModelCatalog(
            nodeID: "a1b2c3d4e5f60718", nodeName: "pi", timestamp: 1_707_400_000_000, models: [entry],
            transferEndpoints: .init(http: "http://10.0.0.7:14750", websocket: false))
        let expected = """
            {"models":[{"capabilities":["object_detection"],"class_count":2,"classes":["cat","dog"],"format":"pt",\
            "metadata":{"imgsz":640},"model_id":"yolov8n","name":"YOLOv8n","sha256":"\(Fixtures.sha)",\
            "size_bytes":6534387,"source":"huggingface","source_ref":"ultralytics/yolov8n","type":"vision",\
            "version":"8.1.0"}],"node_id":"a1b2c3d4e5f60718","node_name":"pi","protocol_version":"1.1",\
            "timestamp":1707400000000,"transfer_endpoints":{"http":"http://10.0.0.7:14750","websocket":false},\
            "ttl_seconds":300,"type":"model_catalog"}
            """
        #expect(try Fixtures.encodedText(catalog) == expected)
    }

    @Test(arguments: ["null", "\"\"", Fixtures.absent])
    func missingHTTPEndpointReadsAsNil(_ http: String) throws {
        let endpoints = Fixtures.object(["http": http, "websocket": "true"])
        let json = Fixtures.object(["type": "\"model_catalog\"", "node_id": "\"n1\"", "models": "[]", "transfer_endpoints": endpoints])
        let catalog = try Fixtures.decode(ModelCatalog.self, json)
        #expect(catalog.transferEndpoints.http == nil)
        #expect(catalog.transferEndpoints.websocket)
        #expect(!(try Fixtures.encodedText(catalog)).contains("\"http\""))
    }

    @Test func minimalCatalogGetsDefaults() throws {
        let catalog = try Fixtures.decode(ModelCatalog.self, #"{"type":"model_catalog","node_id":"n1"}"#)
        #expect(catalog.nodeName == "n1")
        #expect(catalog.models.isEmpty)
        #expect(catalog.ttlSeconds == 300)
        #expect(catalog.timestamp == 0)
        #expect(catalog.transferEndpoints == .init(http: nil, websocket: false))
        #expect(catalog.protocolVersion == WireLimits.legacyProtocolVersion)
    }

    @Test(arguments: [
        ("1707400000123.456", Int64(1_707_400_000_123)), ("1707400000123", 1_707_400_000_123), ("1.7074e12", 1_707_400_000_000),
    ])
    func floatTimestampsOfPythonNodesAreTruncated(_ raw: String, _ expected: Int64) throws {
        let catalog = try Fixtures.decode(ModelCatalog.self, #"{"type":"model_catalog","node_id":"n1","timestamp":\#(raw)}"#)
        #expect(catalog.timestamp == expected)
    }

    @Test(arguments: ["\"yesterday\"", "1e300", "true"])
    func nonNumericTimestampIsRefused(_ raw: String) {
        let json = #"{"type":"model_catalog","node_id":"n1","timestamp":\#(raw)}"#
        Fixtures.expectRejected(ModelCatalog.self, json, code: .invalidValue, field: "timestamp")
    }

    @Test func keepsAnExplicitProtocolVersion() throws {
        let catalog = try Fixtures.decode(ModelCatalog.self, #"{"type":"model_catalog","node_id":"n1","protocol_version":"1.7"}"#)
        #expect(catalog.protocolVersion == "1.7")
        #expect(try Fixtures.encodedText(catalog).contains(#""protocol_version":"1.7""#))
    }
}

/// Values peers send in odd shapes that must neither trap nor change kind on re-encoding.
struct OddValueTests {
    @Test(arguments: [("3", "3"), ("2.0", "2"), ("1.5", "1.5"), ("99999999999999999999", "1e+20"), ("-1e300", "-1e+300")])
    func numericVersionsReadAsStrings(_ raw: String, _ expected: String) throws {
        let entry = try Fixtures.decode(ModelEntry.self, Fixtures.entryJSON(["version": raw]))
        #expect(entry.version == expected)
    }

    @Test func largeIntegersInUnknownFieldsStayIntegers() throws {
        let json = Fixtures.entryJSON(["timestamp_ns": "1707400000123456789", "seq": "9007199254740993", "small": "-42"])
        let text = try Fixtures.encodedText(try Fixtures.decode(ModelEntry.self, json))
        // Integer notation (a Python peer reads it back as an int), and the exact value.
        #expect(text.contains(#""timestamp_ns":1707400000123456789"#), "\(text)")
        #expect(text.contains(#""seq":9007199254740993"#), "\(text)")
        #expect(text.contains(#""small":-42"#))
    }

    @Test func nonIntegralAndHugeNumbersKeepFloatNotation() throws {
        let json = Fixtures.entryJSON(["metadata": #"{"lr":0.0001,"big":1e300,"half":0.5}"#])
        let entry = try Fixtures.decode(ModelEntry.self, json)
        #expect(entry.metadata == ["lr": .number(0.0001), "big": .number(1e300), "half": .number(0.5)])
        let again = try WireCoding.decode(ModelEntry.self, from: WireCoding.encode(entry))
        #expect(again.metadata == entry.metadata)
    }

    @Test(arguments: ["[]", "\"x\"", "1"])
    func metadataMustBeAnObject(_ value: String) {
        Fixtures.expectRejected(ModelEntry.self, Fixtures.entryJSON(["metadata": value]), code: .invalidValue, field: "metadata")
    }

    @Test(arguments: ["\"cat\"", "[1,2]", "{\"0\":\"person\"}"])
    func classesMustBeAStringList(_ value: String) {
        Fixtures.expectRejected(ModelEntry.self, Fixtures.entryJSON(["classes": value]), code: .invalidValue, field: "classes")
    }

    @Test func nullElementsOfStringListsAreDropped() throws {
        let entry = try Fixtures.decode(ModelEntry.self, Fixtures.entryJSON(["classes": #"["cat",null,"dog"]"#, "capabilities": "null"]))
        #expect(entry.classes == ["cat", "dog"])
        #expect(entry.capabilities == [])
    }
}
