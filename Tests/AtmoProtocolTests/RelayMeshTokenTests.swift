import Foundation
import Testing

@testable import AtmoProtocol

/// `MeshToken`: canonical signed bytes (checked against Python's `json.dumps`), transport
/// form, invite links and the pure time and claim checks.
struct MeshTokenTests {
    /// Printed by Python 3 for these claims with
    /// `json.dumps(claims, sort_keys=True, separators=(",", ":"))` (ensure_ascii default).
    static let pythonCanonical = #"""
        {"capabilities":["Zeta","participant","r\u00e9sum\u00e9","\ud83d\ude80 \"q\"\\/\t\u007f"],"expires_at":1767312000,"issued_at":1767225600,"issuer_id":"a1b2c3d4e5f60718","mesh_id":"56475aa75463474c","node_id":null,"nonce":"00112233445566778899aabbccddeeff"}
        """#
    /// The same token (signed by Python's `cryptography` with the key of seed 0...31),
    /// as `base64.urlsafe_b64encode(json.dumps(token))` without padding: Python's default
    /// separators, with spaces.
    static let pythonTransport = """
        eyJtZXNoX2lkIjogIjU2NDc1YWE3NTQ2MzQ3NGMiLCAibm9kZV9pZCI6IG51bGwsICJpc3N1ZWRfYXQiOiAxNzY3MjI1NjAwLCAiZXhwaXJlc19hdCI6IDE3NjczMTIwMDAsICJjYXBhYmlsaXRpZXMiOiBbIlpldGEiLCAicGFydGljaXBhbnQiLCAiclx1MDBlOXN1bVx1MDBlOSIsICJcdWQ4M2RcdWRlODAgXCJxXCJcXC9cdFx1MDA3ZiJdLCAiaXNzdWVyX2lkIjogImExYjJjM2Q0ZTVmNjA3MTgiLCAibm9uY2UiOiAiMDAxMTIyMzM0NDU1NjY3Nzg4OTlhYWJiY2NkZGVlZmYiLCAic2lnbmF0dXJlIjogIkdVOFZETUtvUkRiLzRHL0M3c3lwbTh3YTNHaHhDa1dKc3RUbFEzeWtwMHZDZVFMdHhUY0dNWDVYdk9mNTJINm0wNXc5R2plM2FQbWtKUDdlUENSZ0FnPT0ifQ
        """

    static func sample(nodeID: String? = "n1", issuedAt: Int64 = 1_000_000, lifetime: Int64 = 86_400) -> MeshToken {
        MeshToken(
            meshID: "56475aa75463474c", nodeID: nodeID, issuedAt: issuedAt, expiresAt: issuedAt + lifetime,
            issuerID: "a1b2c3d4e5f60718", nonce: "00112233445566778899aabbccddeeff", signature: Data(repeating: 7, count: 64))
    }

    @Test func canonicalBytesMatchPythonWithNonASCII() throws {
        let token = try MeshToken(transportString: Self.pythonTransport)
        #expect(token.capabilities == ["Zeta", "participant", "r\u{e9}sum\u{e9}", "\u{1F680} \"q\"\\/\t\u{7F}"])
        #expect(String(decoding: token.signedBytes, as: UTF8.self) == Self.pythonCanonical)

        var shuffled = token
        shuffled.capabilities.reverse()
        shuffled.extra = ["note": .string("unsigned")]
        #expect(shuffled.signedBytes == token.signedBytes)
    }

    @Test func canonicalBytesOfANamedNode() {
        let text = String(decoding: Self.sample().signedBytes, as: UTF8.self)
        #expect(
            text == """
                {"capabilities":["participant"],"expires_at":1086400,"issued_at":1000000,"issuer_id":"a1b2c3d4e5f60718",\
                "mesh_id":"56475aa75463474c","node_id":"n1","nonce":"00112233445566778899aabbccddeeff"}
                """)
    }

    @Test func pythonStringEscapes() {
        #expect(MeshToken.pythonJSONString("a/b") == #""a/b""#)
        #expect(MeshToken.pythonJSONString("\u{0}\u{1F}\u{08}\u{0C}\n\r") == #""\u0000\u001f\b\f\n\r""#)
        #expect(MeshToken.pythonJSONString("\u{FFFF}\u{10FFFF}") == #""\uffff\udbff\udfff""#)
        #expect(MeshToken.pythonJSONString("e\u{301}") == #""e\u0301""#)
        #expect(MeshToken.pythonOrder("Z", "a") && MeshToken.pythonOrder("\u{FF}", "\u{1F600}"))
    }

    @Test func decodeDefaultsAndStrictness() throws {
        let minimal =
            #"{"mesh_id":"m","node_id":null,"issued_at":1,"expires_at":2,"issuer_id":"i","nonce":"00112233445566778899aabbccddeeff","signature":"\#(RelayFixtures.proof)"}"#
        let token = try Fixtures.decode(MeshToken.self, minimal)
        #expect(token.capabilities == ["participant"])
        #expect(token.nodeID == nil)
        #expect(try Fixtures.encodedText(token).contains(#""node_id":null"#))

        func json(_ replace: String, with value: String) -> String { minimal.replacingOccurrences(of: replace, with: value) }
        Fixtures.expectRejected(MeshToken.self, json(#""nonce":"0011"#, with: #""nonce":"zz11"#), code: .invalidValue, field: "nonce")
        Fixtures.expectRejected(MeshToken.self, json(#""issued_at":1"#, with: #""issued_at":1.5"#), code: .invalidValue, field: "issued_at")
        Fixtures.expectRejected(MeshToken.self, json(#""issued_at":1"#, with: #""issued_at":-1"#), code: .invalidValue, field: "issued_at")
        Fixtures.expectRejected(MeshToken.self, json(#""node_id":null"#, with: #""node_id":"a b""#), code: .invalidValue, field: "node_id")
        Fixtures.expectRejected(MeshToken.self, json(#""issuer_id":"i","#, with: ""), code: .missingField, field: "issuer_id")
        Fixtures.expectRejected(
            MeshToken.self, json(#""signature":""#, with: #""signature":"AAAA"#), code: .invalidValue, field: "signature")
    }

    @Test func transportRoundTripAndTolerance() throws {
        let token = Self.sample()
        let text = try token.transportString()
        #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
        #expect(try MeshToken(transportString: text) == token)

        let standard = try WireCoding.encode(token).base64EncodedString()
        #expect(try MeshToken(transportString: standard) == token)
        #expect(throws: WireError.self) { try MeshToken(transportString: text + "!") }
        #expect(throws: WireError.self) { try MeshToken(transportString: "e30") }
        #expect(MeshToken.lenientBase64Decoded("YQ") == Data("a".utf8))
        #expect(MeshToken.lenientBase64Decoded("YQ==") == Data("a".utf8))
        #expect(MeshToken.lenientBase64Decoded("YQ=") == nil)
        #expect(MeshToken.lenientBase64Decoded("Y") == nil)
        #expect(MeshToken.lenientBase64Decoded("YWJj=") == nil)
        #expect(MeshToken.lenientBase64Decoded("-_-_") == Data([0xFB, 0xFF, 0xBF]))
    }

    @Test func inviteLinks() throws {
        let token = Self.sample(nodeID: nil)
        let link = try token.inviteLink()
        #expect(link.hasPrefix("atmosphere://join?invite="))
        #expect(try MeshToken(inviteLink: link) == token)

        let padded =
            "atmosphere://join?from=qr&invite="
            + (try WireCoding.encode(token).base64EncodedString())
            .replacingOccurrences(of: "+", with: "%2B").replacingOccurrences(of: "=", with: "%3D")
        #expect(try MeshToken(inviteLink: padded) == token)
        #expect(try MeshToken(inviteLink: "atmosphere://join?invite=\(Self.pythonTransport)").meshID == "56475aa75463474c")
        #expect(throws: WireError.self) { try MeshToken(inviteLink: "https://join?invite=\(try token.transportString())") }
        #expect(throws: WireError.self) { try MeshToken(inviteLink: "atmosphere://leave?invite=\(try token.transportString())") }
        #expect(throws: WireError.self) { try MeshToken(inviteLink: "atmosphere://join?code=1") }
    }

    @Test func timeChecks() {
        let token = Self.sample()
        #expect(token.timeRejection(now: 1_000_000) == nil)
        #expect(token.timeRejection(now: 1_086_399) == nil)
        #expect(token.timeRejection(now: 1_086_400)?.reason == .expired)
        #expect(token.timeRejection(now: 1_000_000 - 300) == nil)
        #expect(token.timeRejection(now: 1_000_000 - 301)?.reason == .notYetValid)
        #expect(Self.sample(lifetime: 7 * 86_400).timeRejection(now: 1_000_000) == nil)
        #expect(Self.sample(lifetime: 7 * 86_400 + 1).timeRejection(now: 1_000_000)?.reason == .lifetimeTooLong)
        #expect(Self.sample(lifetime: 0).timeRejection(now: 1_000_000)?.reason == .invalidLifetime)
        #expect(RelayLimits.defaultTokenLifetime == 86_400)
    }

    @Test func claimChecks() {
        let token = Self.sample()
        #expect(token.claimsRejection(meshID: "56475aa75463474c", nodeID: "n1", now: 1_000_000) == nil)
        #expect(token.claimsRejection(meshID: "other", nodeID: "n1", now: 1_000_000)?.reason == .wrongMesh)
        #expect(token.claimsRejection(meshID: "56475aa75463474c", nodeID: "n2", now: 1_000_000)?.reason == .wrongNode)
        #expect(Self.sample(nodeID: nil).claimsRejection(meshID: "56475aa75463474c", nodeID: "n2", now: 1_000_000) == nil)
        #expect(MeshToken.randomNonce().count == 32 && RelayValidation.isValidNonce(MeshToken.randomNonce()))
    }
}
