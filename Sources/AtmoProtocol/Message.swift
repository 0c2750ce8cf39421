import Foundation

/// Any JSON message of the mesh, recognised by its `type` field. Unknown types are kept as
/// `.unknown` (never an error), so a newer peer cannot break an older one.
public enum Message: Sendable, Hashable {
    case catalog(ModelCatalog)
    case request(ModelRequest)
    case transferStart(ModelTransferStart)
    case chunk(ModelTransferChunk)
    case chunkAck(ModelTransferChunkAck)
    case complete(ModelTransferComplete)
    case cancel(ModelTransferCancel)
    case progress(ModelTransferProgress)
    case unknown(type: String, fields: [String: JSONValue])
}

/// Encodes and decodes mesh messages with the bounds of `WireLimits`.
public enum WireCoding {
    /// Decodes one message. Throws `WireError` for oversized input, malformed JSON, a known
    /// type with invalid fields; returns `.unknown` for types this version does not know.
    public static func decodeMessage(_ data: Data) throws(WireError) -> Message {
        guard data.count <= WireLimits.maxMessageBytes else {
            throw WireError(.tooLarge, "message of \(data.count) bytes exceeds \(WireLimits.maxMessageBytes)")
        }
        let envelope: [String: JSONValue]
        do {
            envelope = try JSONDecoder().decode([String: JSONValue].self, from: data)
        } catch {
            throw WireError(.malformedJSON, "not a JSON object")
        }
        guard let type = envelope["type"]?.stringValue else {
            throw WireError(.missingField, "message has no string field 'type'")
        }
        do {
            switch type {
            case ModelCatalog.messageType: return .catalog(try decode(ModelCatalog.self, from: data))
            case ModelRequest.messageType: return .request(try decode(ModelRequest.self, from: data))
            case ModelTransferStart.messageType: return .transferStart(try decode(ModelTransferStart.self, from: data))
            case ModelTransferChunk.messageType: return .chunk(try decode(ModelTransferChunk.self, from: data))
            case ModelTransferChunkAck.messageType: return .chunkAck(try decode(ModelTransferChunkAck.self, from: data))
            case ModelTransferComplete.messageType: return .complete(try decode(ModelTransferComplete.self, from: data))
            case ModelTransferCancel.messageType: return .cancel(try decode(ModelTransferCancel.self, from: data))
            case ModelTransferProgress.messageType: return .progress(try decode(ModelTransferProgress.self, from: data))
            default: return .unknown(type: type, fields: envelope)
            }
        }
    }

    /// Decodes one value, mapping decoding failures to a `WireError` that names the field.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws(WireError) -> T {
        guard data.count <= WireLimits.maxMessageBytes else {
            throw WireError(.tooLarge, "message of \(data.count) bytes exceeds \(WireLimits.maxMessageBytes)")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw WireError(.invalidValue, describe(error))
        } catch {
            throw WireError(.malformedJSON, "\(error)")
        }
    }

    /// Compact JSON with sorted keys (stable output for tests and signatures).
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let names = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return names.isEmpty ? "message" : names.joined(separator: ".")
        }
        switch error {
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        case .keyNotFound(let key, let context): return "\(path(context)).\(key.stringValue): missing required field"
        case .typeMismatch(_, let context): return "\(path(context)): \(context.debugDescription)"
        case .valueNotFound(_, let context): return "\(path(context)): missing value"
        @unknown default: return "\(error)"
        }
    }
}
