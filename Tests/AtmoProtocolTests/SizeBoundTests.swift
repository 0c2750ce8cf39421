import Foundation
import Testing

@testable import AtmoProtocol

/// Every byte count from the network is bounded when decoded (issue 9, item 1): a size no
/// disk holds is a refused entry, and the rest of the catalog is kept.
struct SizeBoundTests {
    static func entry(_ id: String, size: String) -> String {
        #"{"model_id":"\#(id)","name":"n","type":"llm","format":"gguf","size_bytes":\#(size),"sha256":"\#(Fixtures.sha)"}"#
    }

    @Test func impossibleSizesAreRejectedEntriesAndTheRestIsKept() throws {
        let sizes = ["9223372036854775807", "1125899906842625", "1e30", "-1", "18446744073709551615"]
        var models = sizes.enumerated().map { Self.entry("bad-\($0.offset)", size: $0.element) }
        models.insert(Self.entry("good", size: "1125899906842624"), at: 2)
        let json = #"{"type":"model_catalog","node_id":"n1","timestamp":1,"models":[\#(models.joined(separator: ","))]}"#
        let catalog = try Fixtures.decode(ModelCatalog.self, json)
        #expect(catalog.models.map(\.modelID) == ["good"])
        #expect(catalog.models.first?.sizeBytes == WireLimits.maxFileSizeBytes)
        #expect(catalog.rejectedModels.count == sizes.count)
        for rejected in catalog.rejectedModels {
            #expect(rejected.message.contains("size_bytes"), "\(rejected)")
        }
        #expect(catalog.rejectedModels[0].code == .tooLarge)
        #expect(catalog.rejectedModels[0].message.contains("more than any disk holds"))
    }

    @Test func transferMessagesBoundTheirByteCounts() {
        let start =
            #"{"type":"model_transfer_start","request_id":"r","model_id":"m","total_bytes":9223372036854775807,"sha256":"\#(Fixtures.sha)"}"#
        #expect(Fixtures.wireError(ModelTransferStart.self, start)?.code == .tooLarge)
        let request = #"{"type":"model_request","request_id":"r","model_id":"m","resume_from_byte":9223372036854775000}"#
        #expect(Fixtures.wireError(ModelRequest.self, request)?.code == .tooLarge)
        let fine =
            #"{"type":"model_transfer_start","request_id":"r","model_id":"m","total_bytes":1125899906842624,"sha256":"\#(Fixtures.sha)"}"#
        #expect(throws: Never.self) { try Fixtures.decode(ModelTransferStart.self, fine) }
    }
}
