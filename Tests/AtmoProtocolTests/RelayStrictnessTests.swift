import Foundation
import Testing

@testable import AtmoProtocol

/// What the relay protocol refuses, and the field each refusal names.
struct RelayStrictnessTests {
    private func expect(_ json: String, _ code: WireError.Code, naming field: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error = RelayFixtures.error(json, sourceLocation: sourceLocation) else { return }
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        #expect(error.message.contains(field), "\(error)", sourceLocation: sourceLocation)
    }

    private func register(_ fields: [String: String]) -> String {
        var members = [
            "type": "\"register_mesh\"", "mesh_id": "\"\(RelayFixtures.meshID)\"",
            "mesh_public_key": "\"\(RelayFixtures.publicKey)\"", "founder_proof": "\"\(RelayFixtures.proof)\"",
            "node_id": "\"n1\"",
        ]
        for (key, value) in fields { members[key] = value }
        return Fixtures.object(members.filter { $0.value != "-" })
    }

    @Test func registerMeshRequiredFields() {
        expect(register(["mesh_id": "-"]), .missingField, naming: "mesh_id")
        expect(register(["mesh_public_key": "-"]), .missingField, naming: "mesh_public_key")
        expect(register(["founder_proof": "null"]), .missingField, naming: "founder_proof")
        expect(register(["node_id": "-"]), .missingField, naming: "node_id")
    }

    @Test func registerMeshKeysAreStrictBase64OfTheRightLength() {
        expect(register(["mesh_public_key": "\"A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\""]), .invalidValue, naming: "mesh_public_key")
        expect(register(["mesh_public_key": "\"A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg\""]), .invalidValue, naming: "mesh_public_key")
        expect(register(["mesh_public_key": "\"AAAA\""]), .invalidValue, naming: "mesh_public_key")
        expect(register(["founder_proof": "\"\(RelayFixtures.publicKey)\""]), .invalidValue, naming: "founder_proof")
        expect(register(["node_public_key": "\"!!\""]), .invalidValue, naming: "node_public_key")
    }

    @Test func identifiersAreBounded() {
        expect(register(["node_id": "\"has space\""]), .invalidValue, naming: "node_id")
        expect(register(["node_id": "\"\(String(repeating: "n", count: 129))\""]), .invalidValue, naming: "node_id")
        expect(register(["node_id": "\"\""]), .invalidValue, naming: "node_id")
        expect(register(["mesh_id": "\"../x\""]), .invalidValue, naming: "mesh_id")
        expect(register(["mesh_id": "\"\(String(repeating: "m", count: 129))\""]), .invalidValue, naming: "mesh_id")
        expect(#"{"type":"direct","target":"a\u0000b","payload":{}}"#, .invalidValue, naming: "target")
        expect(#"{"type":"message","from":"","payload":{}}"#, .invalidValue, naming: "from")
        expect(#"{"type":"peer_left"}"#, .missingField, naming: "node_id")
        expect(#"{"type":"joined","mesh_id":"a/b","node_count":1}"#, .invalidValue, naming: "mesh_id")
        expect(#"{"type":"joined","mesh_id":"m","node_count":-1}"#, .invalidValue, naming: "node_count")
    }

    @Test func payloadMustBeAnObject() {
        expect(#"{"type":"broadcast","payload":[1,2]}"#, .invalidValue, naming: "payload")
        expect(#"{"type":"broadcast","payload":"hello"}"#, .invalidValue, naming: "payload")
        expect(#"{"type":"broadcast"}"#, .missingField, naming: "payload")
        expect(#"{"type":"direct","target":"n2","payload":null}"#, .missingField, naming: "payload")
        expect(#"{"type":"message","from":"n2","payload":7}"#, .invalidValue, naming: "payload")
    }

    @Test func capabilitiesAreBounded() {
        let many = "[" + (0...RelayLimits.maxCapabilities).map { "\"c\($0)\"" }.joined(separator: ",") + "]"
        expect(#"{"type":"join","node_id":"n1","capabilities":\#(many)}"#, .tooLarge, naming: "capabilities")
        expect(#"{"type":"join","node_id":"n1","capabilities":"llm"}"#, .invalidValue, naming: "capabilities")
    }

    @Test func framesAreBoundedAndTyped() {
        let big =
            Data(#"{"type":"broadcast","payload":{"x":""#.utf8) + Data(repeating: UInt8(ascii: "a"), count: RelayLimits.maxFrameBytes)
            + Data(#""}}"#.utf8)
        do {
            _ = try RelayCoding.decode(big)
            Issue.record("an oversized frame decoded")
        } catch {
            #expect(error.code == .tooLarge)
        }
        expect("[1,2]", .malformedJSON, naming: "JSON object")
        expect("{not json", .malformedJSON, naming: "JSON object")
        expect(#"{"payload":{}}"#, .missingField, naming: "type")
        expect(#"{"type":7}"#, .missingField, naming: "type")
    }

    @Test func validationHelpers() {
        #expect(RelayValidation.isValidMeshID("56475aa75463474c"))
        #expect(RelayValidation.isValidMeshID("my-mesh_1.home~"))
        #expect(!RelayValidation.isValidMeshID(".."))
        #expect(!RelayValidation.isValidMeshID("a b"))
        #expect(!RelayValidation.isValidMeshID("mesh%2F"))
        #expect(!RelayValidation.isValidMeshID("m\u{e9}sh"))
        #expect(RelayValidation.isValidNonce("00112233445566778899AABBCCDDEEFF"))
        #expect(!RelayValidation.isValidNonce("00112233445566778899aabbccddeef"))
        #expect(!RelayValidation.isValidNonce("00112233445566778899aabbccddeefg"))
    }
}
