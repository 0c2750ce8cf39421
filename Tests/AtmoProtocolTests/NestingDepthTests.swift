import Foundation
import Testing

@testable import AtmoProtocol

/// Metadata nested deeper than `WireLimits.maxJSONDepth` costs only its entry (issue 9,
/// item 9): before, Foundation's 512-level limit refused the whole catalog.
struct NestingDepthTests {
    static func entry(_ id: String, metadata: String = "{}") -> String {
        #"{"model_id":"\#(id)","name":"n","type":"llm","format":"gguf","size_bytes":10,"sha256":"\#(Fixtures.sha)","metadata":\#(metadata)}"#
    }

    static func nested(_ depth: Int) -> String {
        String(repeating: #"{"a":["#, count: depth / 2) + "1" + String(repeating: "]}", count: depth / 2)
    }

    @Test(arguments: [600, 100_000])
    func deeplyNestedEntryIsDroppedAndTheOthersKept(depth: Int) throws {
        let models = [Self.entry("first"), Self.entry("deep", metadata: Self.nested(depth)), Self.entry("last")]
        let catalog = #"{"type":"model_catalog","node_id":"n1","timestamp":1,"models":[\#(models.joined(separator: ","))]}"#
        let decoded = try Fixtures.decode(ModelCatalog.self, catalog)
        #expect(decoded.models.map(\.modelID) == ["first", "last"])
        #expect(decoded.rejectedModels.map(\.code) == [.tooLarge])
        #expect(decoded.rejectedModels.first?.message.contains("models[1].metadata") == true, "\(decoded.rejectedModels)")

        let bundle = try Fixtures.decode(HTTPAPI.CatalogBundle.self, #"{"catalogs":[\#(catalog)]}"#)
        #expect(bundle.catalogs.first?.models.map(\.modelID) == ["first", "last"])

        guard case .catalog(let message) = try WireCoding.decodeMessage(Fixtures.data(catalog)) else {
            Issue.record("not a catalog")
            return
        }
        #expect(message.models.count == 2)
    }

    /// The body of `POST /v1/catalogs`, bare or as a bundle, decodes in one pass and keeps
    /// the other entries (the route used to parse the whole body as a JSON tree first).
    @Test func catalogPushKeepsTheOtherEntries() throws {
        let models = [Self.entry("first"), Self.entry("deep", metadata: Self.nested(100_000))]
        let catalog = #"{"type":"model_catalog","node_id":"n1","timestamp":1,"models":[\#(models.joined(separator: ","))]}"#
        let bare = try Fixtures.decode(HTTPAPI.CatalogPush.self, catalog)
        #expect(bare.catalogs.first?.models.map(\.modelID) == ["first"])
        let bundle = try Fixtures.decode(HTTPAPI.CatalogPush.self, #"{"catalogs":[\#(catalog),{"node_id":"n2"}]}"#)
        #expect(bundle.catalogs.map(\.nodeID) == ["n1", "n2"])
        #expect(bundle.catalogs.first?.rejectedModels.map(\.code) == [.tooLarge])
    }

    @Test func nestingWithinTheBoundIsKeptExactly() throws {
        let metadata = Self.nested(50)
        let decoded = try Fixtures.decode(ModelCatalog.self, #"{"node_id":"n1","models":[\#(Self.entry("ok", metadata: metadata))]}"#)
        #expect(decoded.models.count == 1)
        #expect(try Fixtures.tree(WireCoding.encode(decoded.models[0].metadata)) == Fixtures.tree(metadata))
    }

    @Test func guardRespectsStringsAndEscapes() {
        let text = #"{"s":"[[[[\"{{{{","t":[1]}"#
        #expect(JSONDepthGuard.firstTooDeep(Fixtures.data(text), maxDepth: 2) == nil)
        #expect(JSONDepthGuard.firstTooDeep(Fixtures.data(text), maxDepth: 1) != nil)
        // An escaped backslash before a quote ends the string; an escaped quote does not.
        #expect(JSONDepthGuard.firstTooDeep(Fixtures.data(#"{"s":"x\\","t":[[1]]}"#), maxDepth: 2) != nil)
        #expect(JSONDepthGuard.firstTooDeep(Fixtures.data(#"{"s":"x\\","t":[[1]]}"#), maxDepth: 3) == nil)
        #expect(JSONDepthGuard.firstTooDeep(Fixtures.data(#"{"s":"x\"[[[","t":1}"#), maxDepth: 1) == nil)
        let cut = JSONDepthGuard.bounded(Fixtures.data(#"{"a":[[1,[2]],3]}"#), maxDepth: 2)
        #expect(String(decoding: cut, as: UTF8.self) == #"{"a":["\u0000atmo:nested-too-deep\u0000",3]}"#)
    }

    @Test func deepUnknownMessageIsMalformedNotACrash() {
        let text = #"{"type":"future_thing","x":\#(Self.nested(100_000))}"#
        #expect(Fixtures.messageError(Fixtures.data(text))?.code == .tooLarge)
    }
}

/// The same bound for a catalog that crosses a relay: the frame decodes, and decoding its
/// payload as a catalog refuses only the deep entry (the frame itself used to fail past
/// Foundation's 512 levels, losing the whole catalog).
struct RelayNestingDepthTests {
    @Test(arguments: [600, 100_000])
    func deepEntryInARelayedCatalogCostsOnlyThatEntry(depth: Int) throws {
        let models = [
            NestingDepthTests.entry("first"), NestingDepthTests.entry("deep", metadata: NestingDepthTests.nested(depth)),
            NestingDepthTests.entry("last"),
        ]
        let catalog = #"{"type":"model_catalog","node_id":"n1","timestamp":1,"models":[\#(models.joined(separator: ","))]}"#
        let frame = #"{"type":"message","from":"n1","payload":\#(catalog)}"#
        guard case .message(let delivery) = try RelayCoding.decode(frame) else {
            Issue.record("not a delivery")
            return
        }
        let decoded = try WireCoding.decode(ModelCatalog.self, from: try WireCoding.encode(delivery.payload))
        #expect(decoded.models.map(\.modelID) == ["first", "last"])
        #expect(decoded.rejectedModels.map(\.code) == [.tooLarge])
    }

    @Test func aFrameWithinTheBoundIsUnchanged() throws {
        let catalog = #"{"type":"model_catalog","node_id":"n1","timestamp":1,"models":[\#(NestingDepthTests.entry("only", metadata: NestingDepthTests.nested(40)))]}"#
        let frame = #"{"type":"broadcast","payload":\#(catalog)}"#
        guard case .broadcast(let broadcast) = try RelayCoding.decode(frame) else {
            Issue.record("not a broadcast")
            return
        }
        let decoded = try WireCoding.decode(ModelCatalog.self, from: try WireCoding.encode(broadcast.payload))
        #expect(decoded.models.map(\.modelID) == ["only"])
    }
}
