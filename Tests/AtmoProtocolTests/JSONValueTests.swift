import Foundation
import Testing

@testable import AtmoProtocol

/// Free-form JSON kept for re-sending: numbers go back out as they came in.
struct JSONValueTests {
    @Test func integersBeyondTwoToThe53AreKeptExact() throws {
        let text = #"{"big":9007199254740993,"low":-9223372036854775807,"small":3,"half":0.5,"edge":9007199254740992}"#
        let value = try WireCoding.decode([String: JSONValue].self, from: Data(text.utf8))
        #expect(value["big"] == .integer(9_007_199_254_740_993))
        #expect(value["low"] == .integer(-9_223_372_036_854_775_807))
        #expect(value["small"] == .number(3))
        #expect(value["half"] == .number(0.5))
        #expect(value["edge"] == .number(9_007_199_254_740_992))
        let written = String(decoding: try WireCoding.encode(value), as: UTF8.self)
        #expect(written.contains("9007199254740993"))
        #expect(written.contains("-9223372036854775807"))
        #expect(written.contains(#""small":3"#))
        #expect(value["big"]?.doubleValue == 9_007_199_254_740_992)
    }

    /// An unknown field of a catalog entry holding such an integer survives a re-gossip.
    @Test func unknownFieldsOfAMessageKeepBigIntegers() throws {
        let text = CatalogGoldenTests.pythonCatalog.replacingOccurrences(
            of: #""license": "agpl-3.0""#, with: #""license": "agpl-3.0", "peer_counter": 12345678901234567"#)
        #expect(text.contains("12345678901234567"))
        let catalog = try WireCoding.decode(ModelCatalog.self, from: Data(text.utf8))
        let again = String(decoding: try WireCoding.encode(catalog), as: UTF8.self)
        #expect(again.contains("12345678901234567"))
    }
}
