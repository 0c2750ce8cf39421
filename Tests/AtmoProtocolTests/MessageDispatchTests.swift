import Foundation
import Testing

@testable import AtmoProtocol

/// `WireCoding.decodeMessage`: dispatch on `type`, unknown types, envelope-level refusals.
struct MessageDispatchTests {
    static let sha = Fixtures.sha

    /// One valid message and the `Message` case it must decode to.
    struct Sample: Sendable, CustomTestStringConvertible {
        var type: String
        var json: String
        init(_ type: String, _ json: String) {
            self.type = type
            self.json = json
        }
        var testDescription: String { type }
    }

    static let samples: [Sample] = [
        Sample("catalog", #"{"type":"model_catalog","node_id":"n1","models":[]}"#),
        Sample("request", #"{"type":"model_request","request_id":"r","model_id":"m"}"#),
        Sample("transferStart", #"{"type":"model_transfer_start","request_id":"r","model_id":"m","total_bytes":1,"sha256":"\#(sha)"}"#),
        Sample(
            "chunk",
            #"{"type":"model_transfer_chunk","request_id":"r","model_id":"m","chunk_index":0,"total_chunks":1,"chunk_bytes":"aGk="}"#),
        Sample("chunkAck", #"{"type":"model_transfer_chunk_ack","request_id":"r","chunk_index":0,"status":"received"}"#),
        Sample("complete", #"{"type":"model_transfer_complete","request_id":"r","model_id":"m","total_bytes_received":1}"#),
        Sample("cancel", #"{"type":"model_transfer_cancel","request_id":"r","model_id":"m","reason":"timeout"}"#),
        Sample("progress", #"{"type":"model_transfer_progress","request_id":"r","model_id":"m","bytes_downloaded":0,"total_bytes":1}"#),
    ]

    static func caseName(_ message: Message) -> String {
        switch message {
        case .catalog: "catalog"
        case .request: "request"
        case .transferStart: "transferStart"
        case .chunk: "chunk"
        case .chunkAck: "chunkAck"
        case .complete: "complete"
        case .cancel: "cancel"
        case .progress: "progress"
        case .unknown: "unknown"
        }
    }

    @Test(arguments: samples)
    func dispatchesEveryKnownType(_ sample: Sample) throws {
        let message = try WireCoding.decodeMessage(Fixtures.data(sample.json))
        #expect(Self.caseName(message) == sample.type)
    }

    @Test(arguments: samples)
    func reencodingKeepsTheExactType(_ sample: Sample) throws {
        let message = try WireCoding.decodeMessage(Fixtures.data(sample.json))
        let encoded: Data
        switch message {
        case .catalog(let value): encoded = try WireCoding.encode(value)
        case .request(let value): encoded = try WireCoding.encode(value)
        case .transferStart(let value): encoded = try WireCoding.encode(value)
        case .chunk(let value): encoded = try WireCoding.encode(value)
        case .chunkAck(let value): encoded = try WireCoding.encode(value)
        case .complete(let value): encoded = try WireCoding.encode(value)
        case .cancel(let value): encoded = try WireCoding.encode(value)
        case .progress(let value): encoded = try WireCoding.encode(value)
        case .unknown: encoded = Data()
        }
        guard case .object(let sent) = try Fixtures.tree(sample.json), case .object(let fields) = try Fixtures.tree(encoded) else {
            Issue.record("not an object")
            return
        }
        #expect(fields["type"] == sent["type"])
        #expect(fields["protocol_version"] == .string("1.0"))
        // snake_case throughout: no upper-case letter in any key.
        #expect(fields.keys.allSatisfy { $0 == $0.lowercased() })
        #expect(try WireCoding.decodeMessage(encoded) == message)
    }

    @Test(arguments: ["multimodal_catalog", "model_catalog_update", "ping", "", "MODEL_CATALOG"])
    func unknownTypesAreKeptNotRefused(_ type: String) throws {
        let json = #"{"type":"\#(type)","payload":{"x":[1,2]},"n":null}"#
        let message = try WireCoding.decodeMessage(Fixtures.data(json))
        #expect(
            message
                == .unknown(
                    type: type, fields: ["type": .string(type), "payload": .object(["x": .array([.number(1), .number(2)])]), "n": .null]))
    }

    @Test func knownTypeWithInvalidFieldsIsAnError() {
        let error = Fixtures.messageError(Fixtures.data(#"{"type":"model_request","request_id":"r","model_id":"../etc"}"#))
        #expect(error?.code == .invalidModelID)
        #expect(error?.message.contains("model_id") == true)
    }

    @Test(arguments: [
        "[]", "[{\"type\":\"model_request\"}]", "\"model_catalog\"", "42", "null", "true", "", "{", "{\"type\":", "\u{FEFF}{}x",
    ])
    func nonObjectOrMalformedJSON(_ text: String) {
        let error = Fixtures.messageError(Fixtures.data(text))
        #expect(error?.code == .malformedJSON, "\(String(describing: error))")
    }

    @Test func invalidUTF8IsMalformed() {
        let error = Fixtures.messageError(Data([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D]))
        #expect(error?.code == .malformedJSON)
    }

    @Test(arguments: [#"{}"#, #"{"node_id":"n1"}"#, #"{"type":null}"#, #"{"type":42}"#, #"{"type":["model_catalog"]}"#])
    func missingOrNonStringType(_ json: String) {
        let error = Fixtures.messageError(Fixtures.data(json))
        #expect(error?.code == .missingField)
        #expect(error?.message.contains("type") == true)
    }

    @Test func messageOverTheSizeLimit() {
        let padding = String(repeating: " ", count: WireLimits.maxMessageBytes)
        let data = Fixtures.data(#"{"type":"ping"}"# + padding)
        let error = Fixtures.messageError(data)
        #expect(error?.code == .tooLarge)
        #expect(error?.message.contains("\(WireLimits.maxMessageBytes)") == true)
        let typed = Fixtures.wireError(ModelCatalog.self, #"{"type":"model_catalog","node_id":"n1"}"# + padding)
        #expect(typed?.code == .tooLarge)
    }

    @Test func messageAtTheSizeLimitIsRead() throws {
        let head = #"{"type":"ping"}"#
        let data = Fixtures.data(head + String(repeating: " ", count: WireLimits.maxMessageBytes - head.utf8.count))
        #expect(data.count == WireLimits.maxMessageBytes)
        #expect(try WireCoding.decodeMessage(data) == .unknown(type: "ping", fields: ["type": .string("ping")]))
    }

    @Test func missingRequiredFieldOfAKnownType() {
        let error = Fixtures.messageError(Fixtures.data(#"{"type":"model_request","model_id":"m"}"#))
        #expect(error?.code == .missingField)
        #expect(error?.message.contains("request_id") == true)
    }

    @Test func wrongFieldTypeNamesTheField() {
        let error = Fixtures.messageError(Fixtures.data(#"{"type":"model_catalog","node_id":"n1","models":{"a":1}}"#))
        #expect(error?.code == .invalidValue)
        #expect(error?.message.contains("models") == true)
    }

    @Test(arguments: [
        "file:///etc/passwd", "http+unix://%2Fvar%2Frun%2Fdocker.sock/", "ftp://h/", "192.168.1.100:14345", "http://", "http:///x",
        "http://a b/",
    ])
    func transferEndpointMustBeHTTP(_ url: String) {
        let json = #"{"type":"model_catalog","node_id":"n1","transfer_endpoints":{"http":"\#(url)"}}"#
        let error = Fixtures.messageError(Fixtures.data(json))
        #expect(error?.code == .invalidValue)
        #expect(error?.message.contains("transfer_endpoints.http") == true, "\(String(describing: error))")
    }

    @Test(arguments: ["", " ", "node\u{7f}", String(repeating: "n", count: 129)])
    func invalidNodeID(_ id: String) {
        let json = #"{"type":"model_catalog","node_id":\#(Fixtures.quoted(id))}"#
        let error = Fixtures.messageError(Fixtures.data(json))
        #expect(error?.code == .invalidValue)
        #expect(error?.message.contains("node_id") == true)
    }
}
