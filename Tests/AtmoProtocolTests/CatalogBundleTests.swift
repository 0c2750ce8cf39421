import Foundation
import Testing

@testable import AtmoProtocol

/// `/v1/catalogs` bodies and `/v1/models` lists: one refused element never hides the others.
struct CatalogBundleTests {
    static func catalogJSON(node: String, models: String = "[\(Fixtures.entryJSON())]") -> String {
        Fixtures.object(["type": "\"model_catalog\"", "node_id": Fixtures.quoted(node), "timestamp": "1700000000000", "models": models])
    }

    @Test func aBundleRoundTripsItsCatalogsAndTheirExtraFields() throws {
        let json = #"{"catalogs":[\#(Self.catalogJSON(node: "a")),\#(Self.catalogJSON(node: "b"))]}"#
        var bundle = try Fixtures.decode(HTTPAPI.CatalogBundle.self, json)
        #expect(bundle.catalogs.map(\.nodeID) == ["a", "b"])
        bundle.catalogs[0].extra["gossip_hops"] = .number(2)
        let again = try Fixtures.decode(HTTPAPI.CatalogBundle.self, try Fixtures.encodedText(bundle))
        #expect(again.catalogs == bundle.catalogs)
        #expect(again.catalogs[0].extra["gossip_hops"] == .number(2))
    }

    @Test func aRefusedCatalogIsLeftOutAndNamed() throws {
        let noNodeID = #"{"type":"model_catalog","models":[]}"#
        let json = #"{"catalogs":[\#(Self.catalogJSON(node: "a")),\#(noNodeID),42,\#(Self.catalogJSON(node: "c"))]}"#
        let bundle = try Fixtures.decode(HTTPAPI.CatalogBundle.self, json)
        #expect(bundle.catalogs.map(\.nodeID) == ["a", "c"])
        #expect(bundle.rejected.count == 2)
        #expect(bundle.rejected.first?.code == .missingField)
        #expect(bundle.rejected.first?.message.hasPrefix("catalogs[1].node_id") == true, "\(bundle.rejected)")
    }

    @Test func aCatalogWithABadEntryKeepsItsGoodEntries() throws {
        let models = "[\(Fixtures.entryJSON(["sha256": "\"nothex\""])),\(Fixtures.entryJSON())]"
        let bundle = try Fixtures.decode(HTTPAPI.CatalogBundle.self, #"{"catalogs":[\#(Self.catalogJSON(node: "a", models: models))]}"#)
        #expect(bundle.catalogs.first?.models.count == 1)
        #expect(bundle.catalogs.first?.rejectedModels.map(\.code) == [.invalidSHA256])
        #expect(bundle.rejected.isEmpty)
    }

    @Test func tooManyCatalogsRefusesTheBundle() {
        let one = Self.catalogJSON(node: "a", models: "[]")
        let json = #"{"catalogs":["# + Array(repeating: one, count: WireLimits.maxCatalogsPerBundle + 1).joined(separator: ",") + "]}"
        Fixtures.expectRejected(HTTPAPI.CatalogBundle.self, json, code: .tooLarge, field: "catalogs")
    }

    @Test func aMissingOrNullListIsEmpty() throws {
        #expect(try Fixtures.decode(HTTPAPI.CatalogBundle.self, "{}").catalogs.isEmpty)
        #expect(try Fixtures.decode(HTTPAPI.CatalogBundle.self, #"{"catalogs":null}"#).catalogs.isEmpty)
    }

    @Test func aModelListLeavesOutRefusedEntries() throws {
        let json = #"{"models":[\#(Fixtures.entryJSON(["model_id": "\"../etc\""])),\#(Fixtures.entryJSON())]}"#
        let list = try Fixtures.decode(HTTPAPI.ModelList.self, json)
        #expect(list.models.count == 1)
        #expect(list.rejected.map(\.code) == [.invalidModelID])
        guard case .object(let encoded) = try Fixtures.tree(try Fixtures.encodedText(list)) else {
            Issue.record("a model list encodes as an object")
            return
        }
        #expect(Array(encoded.keys) == ["models"])
        if case .array(let models) = encoded["models"] { #expect(models.count == 1) } else { Issue.record("models is an array") }
    }
}
