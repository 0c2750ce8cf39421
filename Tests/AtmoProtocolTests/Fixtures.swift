import Foundation
import Testing

@testable import AtmoProtocol

/// Shared samples and helpers of the AtmoProtocol tests.
enum Fixtures {
    /// A realistic lowercase SHA-256 (of the empty string).
    static let sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    /// Another one, of "abc".
    static let shaABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    static let requestID = "6f1c2b9e-3a7d-4f0e-9b61-2c8d5e4a7f10"

    /// The UTF-8 bytes of a JSON text.
    static func data(_ json: String) -> Data { Data(json.utf8) }

    /// Parses a JSON text into a `JSONValue` tree, for order-insensitive comparisons.
    static func tree(_ json: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: data(json))
    }

    /// Parses bytes into a `JSONValue` tree.
    static func tree(_ data: Data) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: data)
    }

    /// Encodes with `WireCoding.encode` and returns the text.
    static func encodedText<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try WireCoding.encode(value), as: UTF8.self)
    }

    /// Decodes `json` as `T` through `WireCoding.decode`.
    static func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try WireCoding.decode(T.self, from: data(json))
    }

    /// The `WireError` that decoding `json` as `T` throws; records an issue when it succeeds.
    static func wireError<T: Decodable>(
        _ type: T.Type, _ json: String, sourceLocation: SourceLocation = #_sourceLocation
    ) -> WireError? {
        do {
            _ = try WireCoding.decode(T.self, from: data(json))
            Issue.record("decoding succeeded, expected a WireError", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    /// The `WireError` of `WireCoding.decodeMessage`; records an issue when it succeeds.
    static func messageError(_ data: Data, sourceLocation: SourceLocation = #_sourceLocation) -> WireError? {
        do {
            let message = try WireCoding.decodeMessage(data)
            Issue.record("decoded \(message), expected a WireError", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    /// Checks that decoding `json` fails with `code` and a message naming `field`.
    static func expectRejected<T: Decodable>(
        _ type: T.Type, _ json: String, code: WireError.Code, field: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let error = wireError(T.self, json, sourceLocation: sourceLocation) else { return }
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        #expect(error.message.contains(field), "\(error)", sourceLocation: sourceLocation)
    }

    /// A minimal valid model entry as JSON, with `fields` (raw JSON members) replacing or
    /// adding members.
    static func entryJSON(_ fields: [String: String] = [:]) -> String {
        var members: [String: String] = [
            "model_id": "\"yolov8n\"", "size_bytes": "6534387", "sha256": "\"\(sha)\"", "format": "\"pt\"",
        ]
        for (key, value) in fields { members[key] = value }
        return object(members)
    }

    /// A JSON object from raw member values, keys sorted; a value of `"<absent>"` drops the key.
    static func object(_ members: [String: String]) -> String {
        let body = members.filter { $0.value != absent }.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }
        return "{" + body.joined(separator: ",") + "}"
    }

    /// Marks a member to leave out in `object(_:)`.
    static let absent = "<absent>"

    /// A JSON string literal for `text` (quotes and escapes included).
    static func quoted(_ text: String) -> String {
        String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    }

    /// A valid `model_request` with `fields` replaced.
    static func requestJSON(_ fields: [String: String] = [:]) -> String {
        var members: [String: String] = [
            "type": "\"model_request\"", "request_id": quoted(requestID), "requester_node_id": "\"a1b2c3d4e5f60718\"",
            "target_node_id": "\"llamafarm-mac-12345\"", "model_id": "\"yolov8n\"", "resume_from_byte": "0",
            "transport": "\"http\"",
        ]
        for (key, value) in fields { members[key] = value }
        return object(members)
    }
}
