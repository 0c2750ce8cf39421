import Foundation

/// Any JSON message of the mesh, recognised by its `type` field. Unknown types are kept as
/// `.unknown` (never an error), so a newer peer cannot break an older one.
public enum Message: Sendable, Hashable {
    /// `model_catalog`.
    case catalog(ModelCatalog)
    /// `model_request`.
    case request(ModelRequest)
    /// `model_transfer_start`.
    case transferStart(ModelTransferStart)
    /// `model_transfer_chunk`.
    case chunk(ModelTransferChunk)
    /// `model_transfer_chunk_ack`.
    case chunkAck(ModelTransferChunkAck)
    /// `model_transfer_complete`.
    case complete(ModelTransferComplete)
    /// `model_transfer_cancel`.
    case cancel(ModelTransferCancel)
    /// `model_transfer_progress`.
    case progress(ModelTransferProgress)
    /// A type this version does not know, with all of its fields.
    case unknown(type: String, fields: [String: JSONValue])
}

/// Encodes and decodes mesh messages with the bounds of `WireLimits`.
public enum WireCoding {
    /// Just the `type` of a message, read before the rest.
    private struct MessageEnvelope: Decodable {
        var type: String?
        enum CodingKeys: String, CodingKey { case type }
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            type = try? container.decodeIfPresent(String.self, forKey: .type)
        }
    }

    /// Decodes one message. Throws `WireError` for oversized input, malformed JSON, a known
    /// type with invalid fields; returns `.unknown` for types this version does not know.
    public static func decodeMessage(_ data: Data) throws(WireError) -> Message {
        guard data.count <= WireLimits.maxMessageBytes else {
            throw WireError(.tooLarge, "message of \(data.count) bytes exceeds \(WireLimits.maxMessageBytes)")
        }
        let data = JSONDepthGuard.bounded(data)
        let envelope: MessageEnvelope
        do {
            envelope = try JSONDecoder().decode(MessageEnvelope.self, from: data)
        } catch {
            throw WireError(.malformedJSON, "not a JSON object")
        }
        guard let type = envelope.type else {
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
            default: return .unknown(type: type, fields: try decode([String: JSONValue].self, from: data))
            }
        }
    }

    /// Decodes one value, mapping decoding failures to a `WireError` that names the field.
    ///
    /// `limit`: the largest input taken (`WireLimits.maxMessageBytes`; a `/v1/catalogs`
    /// answer may be up to `WireLimits.maxCatalogBundleBytes`). Values nested deeper than
    /// `WireLimits.maxJSONDepth` fail only the entry or catalog holding them (`JSONDepthGuard`).
    public static func decode<T: Decodable>(
        _ type: T.Type, from data: Data, limit: Int = WireLimits.maxMessageBytes
    ) throws(WireError) -> T {
        guard data.count <= limit else {
            throw WireError(.tooLarge, "message of \(data.count) bytes exceeds \(limit)")
        }
        do {
            return try JSONDecoder().decode(T.self, from: JSONDepthGuard.bounded(data))
        } catch let error as DecodingError {
            throw wireError(error)
        } catch let error as WireError {
            throw error
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

    /// Maps a decoding failure to a `WireError` whose message starts with the field's path
    /// (`models[2].sha256: ...`). Field checks carry their own code (see `DecodingError.wire`).
    static func wireError(_ error: DecodingError) -> WireError {
        switch error {
        case .dataCorrupted(let context):
            if let wire = context.underlyingError as? WireError {
                return WireError(wire.code, "\(path(context.codingPath)): \(wire.message)")
            }
            // JSONDecoder reports syntax errors as corrupted data at the top level.
            let code: WireError.Code = context.codingPath.isEmpty ? .malformedJSON : .invalidValue
            return WireError(code, "\(path(context.codingPath)): \(context.debugDescription)")
        case .keyNotFound(let key, let context):
            return WireError(.missingField, "\(path(context.codingPath + [key])): missing required field")
        case .typeMismatch(_, let context):
            return WireError(.invalidValue, "\(path(context.codingPath)): \(context.debugDescription)")
        case .valueNotFound(_, let context):
            return WireError(.missingField, "\(path(context.codingPath)): missing value")
        @unknown default:
            return WireError(.invalidValue, "\(error)")
        }
    }

    /// `models[2].sha256`; `message` for the top level.
    static func path(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return text.isEmpty ? "message" : text
    }
}
