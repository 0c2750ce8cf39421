import AtmoProtocol
import Foundation
import Testing

@testable import AtmoMesh

struct ModelCatalogGossipTests {
    @Test func hopCountTravelsAsAnExtraFieldAndSurvivesDecoding() throws {
        let catalog = MeshFixtures.catalog("x", at: 5, hops: 3)
        let json = try WireCoding.encode(catalog)
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.contains("\"gossip_hops\":3"))
        let decoded = try WireCoding.decode(ModelCatalog.self, from: json)
        #expect(decoded.gossipHops == 3)
        #expect(decoded == catalog)
    }

    @Test func olderPeersCatalogHasNoHopCount() throws {
        let json = Data(#"{"type":"model_catalog","node_id":"old","timestamp":1,"models":[]}"#.utf8)
        let decoded = try WireCoding.decode(ModelCatalog.self, from: json)
        #expect(decoded.gossipHops == nil)
    }

    @Test func unusableHopCountsReadAsAbsent() throws {
        for value in ["-1", "2.5", "\"3\"", "null", "1e12"] {
            let json = Data(#"{"type":"model_catalog","node_id":"n","gossip_hops":\#(value)}"#.utf8)
            let decoded = try WireCoding.decode(ModelCatalog.self, from: json)
            #expect(decoded.gossipHops == nil, "gossip_hops \(value)")
        }
    }

    @Test func settingNilRemovesTheFieldAndKeepsOtherExtras() {
        var catalog = MeshFixtures.catalog("x", at: 5, hops: 2)
        catalog.extra["signature"] = .string("abc")
        let plain = catalog.withGossipHops(nil)
        #expect(plain.extra == ["signature": .string("abc")])
        #expect(catalog.withGossipHops(-4).gossipHops == 0)
    }

    @Test func outgoingCopyCarriesTheRemainingLifetime() {
        let catalog = MeshFixtures.catalog("x", at: 5, ttl: 300)
        #expect(catalog.outgoingCopy(hops: 1, expiresAtMs: 10_000, nowMs: 0).ttlSeconds == 10)
        #expect(catalog.outgoingCopy(hops: 1, expiresAtMs: 10_001, nowMs: 0).ttlSeconds == 11)
        #expect(catalog.outgoingCopy(hops: nil, expiresAtMs: 10, nowMs: 50).ttlSeconds == 1)
        #expect(catalog.outgoingCopy(hops: nil, expiresAtMs: 10, nowMs: 50).gossipHops == nil)
    }

    @Test func batchSizeFormulaMatchesTheEncoding() throws {
        let catalogs = [MeshFixtures.catalog("x", at: 5), MeshFixtures.catalog("y", at: 6, hops: 1)]
        for count in 0...2 {
            let batch = HTTPAPI.CatalogBundle(catalogs: Array(catalogs.prefix(count)))
            let sizes = try batch.catalogs.map { try WireCoding.encode($0).count }
            #expect(try WireCoding.encode(batch).count == HTTPAPI.CatalogBundle.encodedSize(catalogSizes: sizes))
        }
        let decoded = try WireCoding.decode(HTTPAPI.CatalogBundle.self, from: WireCoding.encode(HTTPAPI.CatalogBundle(catalogs: catalogs)))
        #expect(decoded.catalogs == catalogs)
    }
}
