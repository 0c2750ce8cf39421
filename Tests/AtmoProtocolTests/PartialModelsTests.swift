import Foundation
import Testing

@testable import AtmoProtocol

/// `model_catalog.partial_models` (issue 10): the files a node is pulling, offered piece by
/// piece. Decoded lossily and bounded; an entry without a piece manifest is dropped; never
/// mixed into `models`; never kept twice (as a known field and in `extra`).
struct PartialModelsTests {
    static let pieceSize: Int64 = 1 << 20

    static func partialEntryJSON(_ id: String, _ fields: [String: String] = [:]) -> String {
        var members: [String: String] = [
            "model_id": Fixtures.quoted(id), "size_bytes": "6534387", "sha256": "\"\(Fixtures.shaABC)\"", "format": "\"gguf\"",
            "piece_size": "\(pieceSize)", "pieces_sha256": "\"\(Fixtures.sha)\"",
        ]
        for (key, value) in fields { members[key] = value }
        return Fixtures.object(members)
    }

    static func catalogJSON(partial: String?, extra: [String: String] = [:]) -> String {
        var members = [
            "type": "\"model_catalog\"", "node_id": "\"n1\"", "timestamp": "5", "models": "[\(Fixtures.entryJSON())]",
            "transfer_endpoints": #"{"http":"http://10.0.0.2:14750"}"#,
        ]
        if let partial { members["partial_models"] = partial }
        for (key, value) in extra { members[key] = value }
        return Fixtures.object(members)
    }

    static func partialEntry(_ id: String, sha: String = Fixtures.shaABC) -> ModelEntry {
        ModelEntry(
            modelID: id, name: id, type: "llm", format: "gguf", sizeBytes: 5 << 20, sha256: sha, pieceSize: pieceSize,
            piecesSHA256: Fixtures.sha)
    }

    @Test func roundTripKeepsPartialEntriesApartFromModels() throws {
        let whole = try Fixtures.decode(ModelEntry.self, Fixtures.entryJSON())
        let catalog = ModelCatalog(
            nodeID: "n1", nodeName: "one", timestamp: 7, models: [whole], partialModels: [Self.partialEntry("qwen.gguf")],
            transferEndpoints: .init(http: "http://10.0.0.2:14750"))
        let text = try Fixtures.encodedText(catalog)
        #expect(text.contains(#""partial_models":[{"#))
        #expect(text.contains(#""piece_size":1048576"#))
        let decoded = try Fixtures.decode(ModelCatalog.self, text)
        #expect(decoded == catalog)
        #expect(decoded.models.map(\.modelID) == ["yolov8n"])
        #expect(decoded.partialModels.map(\.modelID) == ["qwen.gguf"])
        #expect(decoded.partialModels.first?.manifestReference?.sha256 == Fixtures.sha)
        #expect(decoded.extra[ModelCatalog.partialModelsField] == nil)
        #expect(decoded.rejectedModels.isEmpty)
    }

    @Test func aCatalogWithoutTheFieldDecodesAsBeforeAndEncodesWithoutIt() throws {
        let catalog = try Fixtures.decode(ModelCatalog.self, Self.catalogJSON(partial: nil))
        #expect(catalog.partialModels.isEmpty)
        #expect(catalog.models.count == 1)
        #expect(try !Fixtures.encodedText(catalog).contains("partial_models"))
        // An empty array from a peer is the same as none.
        let empty = try Fixtures.decode(ModelCatalog.self, Self.catalogJSON(partial: "[]"))
        #expect(empty.partialModels.isEmpty && empty.extra.isEmpty)
        #expect(try !Fixtures.encodedText(empty).contains("partial_models"))
    }

    @Test func entriesWithoutAValidManifestOrBrokenAreDroppedNotTheCatalog() throws {
        let entries = [
            Self.partialEntryJSON("good"),
            Self.partialEntryJSON("no-manifest", ["piece_size": Fixtures.absent, "pieces_sha256": Fixtures.absent]),
            Self.partialEntryJSON("half-manifest", ["pieces_sha256": Fixtures.absent]),
            Self.partialEntryJSON("odd-piece", ["piece_size": "1000"]),
            Self.partialEntryJSON("../escape"),
            Self.partialEntryJSON("bad-hash", ["sha256": "\"abc\""]),
        ]
        let catalog = try Fixtures.decode(ModelCatalog.self, Self.catalogJSON(partial: "[\(entries.joined(separator: ","))]"))
        #expect(catalog.partialModels.map(\.modelID) == ["good"])
        #expect(catalog.models.map(\.modelID) == ["yolov8n"], "a partial entry never lands in models")
        #expect(catalog.rejectedModels.count == 5, "\(catalog.rejectedModels)")
        #expect(catalog.rejectedModels.contains { $0.message.hasPrefix("partial_models[4].model_id:") }, "\(catalog.rejectedModels)")
        #expect(catalog.rejectedModels.contains { $0.message.contains("no-manifest") })
        #expect(catalog.extra.isEmpty)
        // What is re-gossiped is what was accepted.
        let again = try Fixtures.decode(ModelCatalog.self, try Fixtures.encodedText(catalog))
        #expect(again.partialModels == catalog.partialModels && again.rejectedModels.isEmpty)
    }

    @Test func aHugeArrayCostsTheExtensionNotTheCatalog() throws {
        let many = (0...WireLimits.maxPartialModelsPerCatalog).map { Self.partialEntryJSON("m\($0)") }
        let catalog = try Fixtures.decode(ModelCatalog.self, Self.catalogJSON(partial: "[\(many.joined(separator: ","))]"))
        #expect(catalog.partialModels.isEmpty)
        #expect(catalog.models.count == 1)
        #expect(catalog.rejectedModels.map(\.code) == [.tooLarge])
        #expect(catalog.extra.isEmpty, "the field is known: never kept in extra as well")
        // At the bound, every entry is kept.
        let bounded = Array(many.dropLast())
        let full = try Fixtures.decode(ModelCatalog.self, Self.catalogJSON(partial: "[\(bounded.joined(separator: ","))]"))
        #expect(full.partialModels.count == WireLimits.maxPartialModelsPerCatalog)
    }

    @Test(arguments: ["\"text\"", "42", "true", #"{"model_id":"x"}"#, "[1,2]"])
    func aValueOfTheWrongShapeIsRefusedAndNeverKeptInExtra(_ value: String) throws {
        let catalog = try Fixtures.decode(ModelCatalog.self, Self.catalogJSON(partial: value))
        #expect(catalog.partialModels.isEmpty)
        #expect(catalog.models.count == 1)
        #expect(!catalog.rejectedModels.isEmpty)
        #expect(catalog.extra.isEmpty)
        #expect(try !Fixtures.encodedText(catalog).contains("partial_models"))
    }

    @Test func sizesCountThePartialEntries() throws {
        let entries = (0..<50).map { Self.partialEntry("partial-\($0)") }
        let without = ModelCatalog(nodeID: "n1", nodeName: "one", timestamp: 1, models: [], transferEndpoints: .init(http: nil))
        var with = without
        with.partialModels = entries
        let entriesHeld = entries.reduce(0) { $0 + $1.heldSize }
        #expect(with.heldSize >= without.heldSize + entriesHeld)
        // The estimate may count fields these entries leave out (base_model, class_count...),
        // never fewer bytes than the JSON.
        let encoded = try WireCoding.encode(with).count
        #expect(with.wireSize >= encoded, "estimate \(with.wireSize), encoded \(encoded)")
        let one = Self.partialEntry("p")
        var bare = one
        (bare.pieceSize, bare.piecesSHA256) = (nil, nil)
        let manifestFields = try WireCoding.encode(one).count - WireCoding.encode(bare).count
        #expect(one.wireSize - bare.wireSize >= manifestFields, "the manifest fields are counted")
    }
}
