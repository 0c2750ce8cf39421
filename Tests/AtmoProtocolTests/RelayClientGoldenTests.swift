import Foundation
import Testing

@testable import AtmoProtocol

/// Samples shared by the relay tests: a raw key, a signature and a token in the shapes of
/// PROTOCOL-NOTES §4 (the token is the Python-signed vector of `RelayMeshTokenTests`).
enum RelayFixtures {
    static let publicKey = "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="
    static let proof = "3SMAbkrYfW9+Ljb8OFI9HgIq9NvOcrEQ3nC3/P0yul7XkVp3WhepjQO92v3SYPftIsPf8wBKCykIqhlmcWbkAQ=="
    static let meshID = "56475aa75463474c"
    static let tokenJSON = """
        {"mesh_id":"56475aa75463474c","node_id":null,"issued_at":1767225600,"expires_at":1767312000,\
        "capabilities":["participant"],"issuer_id":"a1b2c3d4e5f60718","nonce":"00112233445566778899aabbccddeeff",\
        "signature":"\(proof)"}
        """

    static func decode(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> RelayMessage {
        try RelayCoding.decode(json)
    }

    /// The `WireError` of decoding `json`; records an issue when decoding succeeds.
    static func error(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) -> WireError? {
        do {
            let message = try RelayCoding.decode(json)
            Issue.record("decoded \(message), expected a WireError", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    /// Re-encodes `message` and compares it with `json`, ignoring key order.
    static func expectRoundTrip(_ message: RelayMessage, _ json: String, sourceLocation: SourceLocation = #_sourceLocation)
        throws
    {
        #expect(try Fixtures.tree(RelayCoding.encode(message)) == Fixtures.tree(json), sourceLocation: sourceLocation)
    }
}

/// Client-to-relay messages: `register_mesh`, `join`/`register`, `broadcast`, `direct`, `ping`.
struct RelayClientGoldenTests {
    @Test func registerMesh() throws {
        let json = """
            {"type":"register_mesh","mesh_id":"\(RelayFixtures.meshID)","mesh_public_key":"\(RelayFixtures.publicKey)",
             "founder_proof":"\(RelayFixtures.proof)","node_id":"a1b2c3d4e5f60718","name":"studio-mac",
             "display_name":"Studio Mac","node_public_key":"\(RelayFixtures.publicKey)","capabilities":["llm","relay"],
             "app_version":"0.9"}
            """
        let message = try RelayFixtures.decode(json)
        guard case .registerMesh(let register) = message else {
            Issue.record("decoded \(message)")
            return
        }
        #expect(register.meshID == RelayFixtures.meshID)
        #expect(register.meshPublicKey.base64EncodedString() == RelayFixtures.publicKey)
        #expect(register.founderProof.count == 64)
        #expect(register.nodeID == "a1b2c3d4e5f60718")
        #expect(register.name == "studio-mac")
        #expect(register.displayName == "Studio Mac")
        #expect(register.nodePublicKey?.count == 32)
        #expect(register.capabilities == ["llm", "relay"])
        #expect(register.extra == ["app_version": .string("0.9")])
        try RelayFixtures.expectRoundTrip(message, json)
    }

    @Test func registerMeshBuiltInSwiftEncodesExactly() throws {
        let register = RelayRegisterMesh(
            meshID: "m1", meshPublicKey: Data(repeating: 1, count: 32), founderProof: Data(repeating: 2, count: 64),
            nodeID: "n1", name: "a", displayName: "A")
        let text = try RelayCoding.encodeText(.registerMesh(register))
        let key = Data(repeating: 1, count: 32).base64EncodedString()
        let proof = Data(repeating: 2, count: 64).base64EncodedString()
        #expect(
            text == """
                {"capabilities":[],"display_name":"A","founder_proof":"\(proof)","mesh_id":"m1",\
                "mesh_public_key":"\(key)","name":"a","node_id":"n1","type":"register_mesh"}
                """)
    }

    @Test func joinWithTokenObject() throws {
        let json = """
            {"type":"join","node_id":"llamafarm-mac-12345","token":\(RelayFixtures.tokenJSON),
             "capabilities":["participant"],"name":"Laptop"}
            """
        let message = try RelayFixtures.decode(json)
        guard case .join(let join) = message, let token = join.token else {
            Issue.record("decoded \(message)")
            return
        }
        #expect(join.type == "join")
        #expect(join.nodeID == "llamafarm-mac-12345")
        #expect(join.tokenError == nil)
        #expect(token.meshID == RelayFixtures.meshID)
        #expect(token.nodeID == nil)
        #expect(token.expiresAt - token.issuedAt == 86_400)
        #expect(join.name == "Laptop")
        #expect(join.extra.isEmpty)
        try RelayFixtures.expectRoundTrip(message, json)
    }

    @Test func olderRegisterTypeKeepsItsName() throws {
        let json = #"{"type":"register","node_id":"n1","name":"x"}"#
        let message = try RelayFixtures.decode(json)
        guard case .join(let join) = message else {
            Issue.record("decoded \(message)")
            return
        }
        #expect(join.type == "register")
        #expect(join.token == nil)
        #expect(join.capabilities.isEmpty)
        #expect(message.type == "register")
        #expect(
            try Fixtures.tree(RelayCoding.encode(message))
                == Fixtures.tree(#"{"type":"register","node_id":"n1","name":"x","capabilities":[]}"#))
    }

    @Test func joinWithTransportStringToken() throws {
        let transport = try WireCoding.decode(MeshToken.self, from: Data(RelayFixtures.tokenJSON.utf8)).transportString()
        let message = try RelayFixtures.decode(#"{"type":"join","node_id":"n1","token":"\#(transport)"}"#)
        guard case .join(let join) = message else {
            Issue.record("decoded \(message)")
            return
        }
        #expect(join.token?.nonce == "00112233445566778899aabbccddeeff")
    }

    @Test func invalidTokenIsReportedAndKept() throws {
        let json = #"{"type":"join","node_id":"n1","token":{"mesh_id":"m","nonce":"short"}}"#
        let message = try RelayFixtures.decode(json)
        guard case .join(let join) = message else {
            Issue.record("decoded \(message)")
            return
        }
        #expect(join.token == nil)
        #expect(join.tokenError?.message.hasPrefix("token.") == true, "\(String(describing: join.tokenError))")
        #expect(join.extra["token"] != nil)
        #expect(
            try Fixtures.tree(RelayCoding.encode(message))
                == Fixtures.tree(#"{"type":"join","node_id":"n1","token":{"mesh_id":"m","nonce":"short"},"capabilities":[],"name":""}"#))
    }

    @Test func broadcastDirectAndPing() throws {
        let broadcast = #"{"type":"broadcast","payload":{"type":"model_catalog","node_id":"n1","models":[]}}"#
        guard case .broadcast(let sent) = try RelayFixtures.decode(broadcast) else {
            Issue.record("not a broadcast")
            return
        }
        #expect(sent.payload["type"] == .string("model_catalog"))
        try RelayFixtures.expectRoundTrip(.broadcast(sent), broadcast)

        let direct = #"{"type":"direct","target":"n2","payload":{"type":"model_request","model_id":"m"},"seq":4}"#
        guard case .direct(let message) = try RelayFixtures.decode(direct) else {
            Issue.record("not a direct")
            return
        }
        #expect(message.target == "n2")
        #expect(message.extra == ["seq": .number(4)])
        try RelayFixtures.expectRoundTrip(.direct(message), direct)

        #expect(try RelayFixtures.decode(#"{"type":"ping"}"#) == .ping(RelayPing()))
        #expect(try RelayCoding.encodeText(.ping(RelayPing())) == #"{"type":"ping"}"#)
    }
}
