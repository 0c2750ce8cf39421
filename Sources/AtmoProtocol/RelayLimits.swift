import Foundation

/// Bounds of the relay protocol (PROTOCOL-NOTES §4). The older relay had none; a frame or
/// list above one of these is refused before it is trusted to allocate on our behalf.
public enum RelayLimits {
    /// Largest text frame: any mesh message (`WireLimits.maxMessageBytes`) plus its envelope.
    public static let maxFrameBytes = WireLimits.maxMessageBytes + 64 * 1024
    /// Largest serialized mesh token (JSON or its base64url form, including an invite link).
    public static let maxTokenBytes = 16 * 1024
    /// Levels a relay envelope adds above the mesh message it carries (`message` → `payload`,
    /// with room for a direct envelope's extensions): frames nest at most
    /// `WireLimits.maxJSONDepth` plus this before their deepest values are cut.
    public static let envelopeDepth = 4
    /// Longest `mesh_id`: it names the relay path `/relay/{mesh_id}`.
    public static let maxMeshIDLength = 128
    /// Longest node id (the bound of `Validation.isValidNodeID`).
    public static let maxNodeIDLength = 128
    /// Most entries of one `peers` list.
    public static let maxPeers = 10_000
    /// Most capabilities of a peer or a token.
    public static let maxCapabilities = 64
    /// Default lifetime of an issued token: 24 hours.
    public static let defaultTokenLifetime: Int64 = 24 * 3600
    /// Longest lifetime (`expires_at - issued_at`) a token may carry: 7 days.
    public static let maxTokenLifetime: Int64 = 7 * 24 * 3600
    /// Clock difference tolerated before a token counts as issued in the future.
    public static let tokenClockSkew: Int64 = 300
    /// Bytes of a raw Ed25519 public key.
    public static let ed25519PublicKeyBytes = 32
    /// Bytes of an Ed25519 signature.
    public static let ed25519SignatureBytes = 64
}

/// Checks of relay identifiers received from peers.
public enum RelayValidation {
    /// A `mesh_id` is 1-128 characters of `A-Z a-z 0-9 . _ - ~` (unreserved in a URL path,
    /// so `/relay/{mesh_id}` needs no escaping), and neither `.` nor `..`.
    public static func isValidMeshID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard !bytes.isEmpty, bytes.count <= RelayLimits.maxMeshIDLength, id != ".", id != ".." else { return false }
        return bytes.allSatisfy {
            Validation.isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_")
                || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "~")
        }
    }

    /// A token `nonce`: exactly 32 hex characters (16 random bytes).
    public static func isValidNonce(_ nonce: String) -> Bool {
        let bytes = Array(nonce.utf8)
        return bytes.count == 32
            && bytes.allSatisfy {
                Validation.isDigit($0) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f"))
                    || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "F"))
            }
    }
}

extension FieldReader {
    /// A node id, checked by `Validation.isValidNodeID`.
    mutating func nodeID(_ name: String = "node_id") throws -> String {
        let value = try string(name)
        guard Validation.isValidNodeID(value) else {
            throw fail(name, "\(name) must be 1-\(RelayLimits.maxNodeIDLength) printable ASCII characters without spaces")
        }
        return value
    }

    /// A `mesh_id`, checked by `RelayValidation.isValidMeshID`.
    mutating func meshID(_ name: String = "mesh_id") throws -> String {
        let value = try string(name)
        guard RelayValidation.isValidMeshID(value) else {
            throw fail(name, "\(name) must be 1-\(RelayLimits.maxMeshIDLength) characters of A-Z a-z 0-9 . _ - ~")
        }
        return value
    }

    /// Strict standard base64 decoding to exactly `length` bytes, when `length` is given.
    mutating func optionalBase64(_ name: String, length: Int?) throws -> Data? {
        guard let text = try optionalString(name) else { return nil }
        guard Validation.isStrictBase64(text), let data = Data(base64Encoded: text) else {
            throw fail(name, "\(name) is not valid base64")
        }
        if let length, data.count != length {
            throw fail(name, "\(name) must decode to \(length) bytes, not \(data.count)")
        }
        return data
    }

    mutating func base64(_ name: String, length: Int?) throws -> Data {
        guard let value = try optionalBase64(name, length: length) else {
            throw fail(name, .missingField, "missing required field")
        }
        return value
    }

    /// `capabilities`: a bounded string array; missing or null reads as `fallback`.
    mutating func capabilities(_ name: String = "capabilities", fallback: [String] = []) throws -> [String] {
        guard let values = try optionalStringArray(name) else { return fallback }
        guard values.count <= RelayLimits.maxCapabilities else {
            throw fail(name, .tooLarge, "more than \(RelayLimits.maxCapabilities) capabilities")
        }
        return values
    }

    /// A relay `payload`: required, and a JSON object (never an array, string or number).
    mutating func payload(_ name: String = "payload") throws -> [String: JSONValue] {
        guard let value = try decode(JSONValue.self, name) else { throw fail(name, .missingField, "missing required field") }
        guard case .object(let fields) = value else { throw fail(name, "\(name) must be a JSON object") }
        return fields
    }
}
