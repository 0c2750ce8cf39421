import Foundation
import Testing

@testable import AtmoProtocol

/// Everything a peer can send that must be refused, with a `WireError` naming the field.
struct StrictnessTests {
    static let badModelIDs: [String] = [
        "", String(repeating: "a", count: 201), "models/yolov8n", "/etc/passwd", "..", "a..b", "yolo/../../x",
        "%2e%2e", "%2e%2e%2fetc", "yolo\u{0}.pt", "yolo\nv8", "yolo\tv8", "yolo\u{7f}", "yolo v8", " yolo",
        ".hidden", "-rf", "_leading", "modèle", "yolo\u{2215}v8", "ｙｏｌｏ", "yolo\\v8", "yolo:v8", "a*",
    ]

    @Test(arguments: badModelIDs)
    func invalidModelIDInAnEntry(_ id: String) {
        #expect(!Validation.isValidModelID(id))
        let json = Fixtures.entryJSON(["model_id": Fixtures.quoted(id)])
        Fixtures.expectRejected(ModelEntry.self, json, code: .invalidModelID, field: "model_id")
    }

    @Test(arguments: badModelIDs)
    func invalidModelIDInARequest(_ id: String) {
        Fixtures.expectRejected(
            ModelRequest.self, Fixtures.requestJSON(["model_id": Fixtures.quoted(id)]), code: .invalidModelID, field: "model_id")
    }

    @Test func aBadEntryInsideACatalogIsLeftOutWithItsPathNotTheWholeCatalog() throws {
        let bad = Fixtures.entryJSON(["model_id": "\"../x\""])
        let badHash = Fixtures.entryJSON(["model_id": "\"other\"", "sha256": "\"abc\""])
        let models = "[\(Fixtures.entryJSON()),\(bad),\(badHash)]"
        let json = Fixtures.object(["type": "\"model_catalog\"", "node_id": "\"n1\"", "models": models])
        let catalog = try WireCoding.decode(ModelCatalog.self, from: Data(json.utf8))
        #expect(catalog.models.map(\.modelID) == [try WireCoding.decode(ModelEntry.self, from: Data(Fixtures.entryJSON().utf8)).modelID])
        #expect(catalog.rejectedModels.map(\.code) == [.invalidModelID, .invalidSHA256])
        #expect(catalog.rejectedModels.first?.message.hasPrefix("models[1].model_id:") == true, "\(catalog.rejectedModels)")
        // Re-encoding carries only the accepted entries.
        let again = try WireCoding.decode(ModelCatalog.self, from: try WireCoding.encode(catalog))
        #expect(again.models == catalog.models)
        #expect(again.rejectedModels.isEmpty)
    }

    @Test(arguments: [
        "\"\"", "\"abc\"", "\"\(String(Fixtures.sha.dropLast()))\"", "\"\(Fixtures.sha)0\"",
        "\"\(String(Fixtures.sha.dropLast()))g\"", "\"\(String(Fixtures.sha.dropLast(2)))é\"", "\"sha256:\(Fixtures.sha)\"", "42",
    ])
    func sha256MustBe64Hex(_ value: String) {
        Fixtures.expectRejected(ModelEntry.self, Fixtures.entryJSON(["sha256": value]), code: .invalidSHA256, field: "sha256")
    }

    @Test func missingSha256IsAMissingField() {
        Fixtures.expectRejected(ModelEntry.self, Fixtures.entryJSON(["sha256": Fixtures.absent]), code: .missingField, field: "sha256")
    }

    @Test func uppercaseSha256IsAcceptedAndLowercased() throws {
        let entry = try Fixtures.decode(ModelEntry.self, Fixtures.entryJSON(["sha256": "\"\(Fixtures.sha.uppercased())\""]))
        #expect(entry.sha256 == Fixtures.sha)
    }

    @Test(arguments: ["-1", "-9223372036854775808", "1.5", "\"12\""])
    func sizeBytesMustBeANonNegativeInteger(_ value: String) {
        Fixtures.expectRejected(ModelEntry.self, Fixtures.entryJSON(["size_bytes": value]), code: .invalidValue, field: "size_bytes")
    }

    /// A size no disk holds (over `WireLimits.maxFileSizeBytes`, 1 PiB) is refused as too large.
    @Test(arguments: ["1e300", "99999999999999999999", "9223372036854775807", "1125899906842625"])
    func sizeBytesBeyondAnyDiskIsTooLarge(_ value: String) {
        Fixtures.expectRejected(ModelEntry.self, Fixtures.entryJSON(["size_bytes": value]), code: .tooLarge, field: "size_bytes")
    }

    @Test func missingSizeBytesIsAMissingField() {
        Fixtures.expectRejected(ModelEntry.self, Fixtures.entryJSON(["size_bytes": "null"]), code: .missingField, field: "size_bytes")
    }

    @Test func negativeResumeFromByte() {
        Fixtures.expectRejected(
            ModelRequest.self, Fixtures.requestJSON(["resume_from_byte": "-1"]), code: .invalidValue, field: "resume_from_byte")
    }

    @Test(arguments: ["0", "-65536"])
    func chunkSizeMustBePositive(_ value: String) {
        let json =
            #"{"type":"model_transfer_start","request_id":"r","model_id":"m","total_bytes":10,"chunk_size":\#(value),"sha256":"\#(Fixtures.sha)"}"#
        Fixtures.expectRejected(ModelTransferStart.self, json, code: .invalidValue, field: "chunk_size")
    }

    @Test(arguments: ["-1", "3", "0"])
    func totalChunksMustMatchTheSizes(_ value: String) {
        let json =
            #"{"type":"model_transfer_start","request_id":"r","model_id":"m","total_bytes":131072,"total_chunks":\#(value),"sha256":"\#(Fixtures.sha)"}"#
        Fixtures.expectRejected(ModelTransferStart.self, json, code: .invalidValue, field: "total_chunks")
    }

    @Test func hugeTotalBytesIsRefusedAndItsChunkCountDoesNotOverflow() throws {
        let json =
            #"{"type":"model_transfer_start","request_id":"r","model_id":"m","total_bytes":9223372036854775807,"sha256":"\#(Fixtures.sha)"}"#
        Fixtures.expectRejected(ModelTransferStart.self, json, code: .tooLarge, field: "total_bytes")
        #expect(ModelTransferStart.chunkCount(totalBytes: .max, chunkSize: 65_536) == Int64.max / 65_536 + 1)
    }

    static func chunkJSON(_ base64: String, index: Int = 0, total: Int = 1) -> String {
        #"{"type":"model_transfer_chunk","request_id":"r","model_id":"m","chunk_index":\#(index),"total_chunks":\#(total),"chunk_bytes":"\#(base64)"}"#
    }

    @Test(arguments: [WireLimits.maxTextChunkBytes + 1, WireLimits.maxTextChunkBytes + 3, 1 << 20])
    func oversizeChunkBytes(_ count: Int) {
        let json = Self.chunkJSON(Data(repeating: 1, count: count).base64EncodedString())
        Fixtures.expectRejected(ModelTransferChunk.self, json, code: .tooLarge, field: "chunk_bytes")
    }

    @Test(arguments: [
        "not base64!", "aGVsbG8", "aGVs bG8=", "aGVsbG8=\\n", "====", "a", "aGk==", "aG=k", "=aGk", "a===", "-_8=",
        "aGVsbG8=aGk=", "aGk=\\u0000",
    ])
    func invalidBase64(_ text: String) {
        Fixtures.expectRejected(ModelTransferChunk.self, Self.chunkJSON(text), code: .invalidValue, field: "chunk_bytes")
    }

    @Test func missingChunkBytes() {
        let json = #"{"type":"model_transfer_chunk","request_id":"r","model_id":"m","chunk_index":0,"total_chunks":1}"#
        Fixtures.expectRejected(ModelTransferChunk.self, json, code: .missingField, field: "chunk_bytes")
    }

    @Test func chunkIndexMustBeWithinTotalChunks() {
        Fixtures.expectRejected(
            ModelTransferChunk.self, Self.chunkJSON("aGk=", index: 1, total: 1), code: .invalidValue, field: "chunk_index")
        Fixtures.expectRejected(
            ModelTransferChunk.self, Self.chunkJSON("aGk=", index: -1, total: 1), code: .invalidValue, field: "chunk_index")
    }

    @Test func badChunkSha256() {
        let json =
            #"{"type":"model_transfer_chunk","request_id":"r","model_id":"m","chunk_index":0,"total_chunks":1,"chunk_bytes":"aGk=","chunk_sha256":"xyz"}"#
        Fixtures.expectRejected(ModelTransferChunk.self, json, code: .invalidSHA256, field: "chunk_sha256")
    }

    @Test func tooManyModels() {
        let entry = Fixtures.entryJSON()
        let models = "[" + Array(repeating: entry, count: WireLimits.maxModelsPerCatalog + 1).joined(separator: ",") + "]"
        let json = Fixtures.object(["type": "\"model_catalog\"", "node_id": "\"n1\"", "models": models])
        Fixtures.expectRejected(ModelCatalog.self, json, code: .tooLarge, field: "models")
    }

    @Test func tooManyCapabilities() {
        let list = "[" + Array(repeating: "\"chat\"", count: WireLimits.maxArrayElements + 1).joined(separator: ",") + "]"
        Fixtures.expectRejected(ModelEntry.self, Fixtures.entryJSON(["capabilities": list]), code: .tooLarge, field: "capabilities")
    }

    @Test(arguments: ["name", "version", "source_ref", "base_model", "node_name"])
    func tooLongStrings(_ field: String) {
        let long = Fixtures.quoted(String(repeating: "x", count: WireLimits.maxStringLength + 1))
        if field == "node_name" {
            let json = Fixtures.object(["type": "\"model_catalog\"", "node_id": "\"n1\"", "node_name": long])
            Fixtures.expectRejected(ModelCatalog.self, json, code: .tooLarge, field: field)
        } else {
            Fixtures.expectRejected(ModelEntry.self, Fixtures.entryJSON([field: long]), code: .tooLarge, field: field)
        }
    }

    @Test func tooLongClassName() {
        let long = Fixtures.quoted(String(repeating: "x", count: WireLimits.maxStringLength + 1))
        Fixtures.expectRejected(ModelEntry.self, Fixtures.entryJSON(["classes": "[\"cat\",\(long)]"]), code: .tooLarge, field: "classes")
    }
}
