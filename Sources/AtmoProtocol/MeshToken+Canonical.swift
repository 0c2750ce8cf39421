import Foundation

extension MeshToken {
    /// The bytes the mesh key signs: the canonical JSON of `{mesh_id, node_id, issued_at,
    /// expires_at, capabilities (sorted), issuer_id, nonce}`, byte for byte what Python's
    /// `json.dumps(claims, sort_keys=True, separators=(",", ":"))` prints: keys sorted, no
    /// spaces, integers without a fraction, `node_id` null when any node may join, and
    /// every character outside printable ASCII escaped as `\uXXXX` (`ensure_ascii=True`).
    ///
    /// Unknown fields (`extra`) and `signature` are never part of the signed bytes.
    public var signedBytes: Data {
        var text = "{"
        text += "\"capabilities\":["
        text += capabilities.sorted(by: Self.pythonOrder).map(Self.pythonJSONString).joined(separator: ",")
        text += "],\"expires_at\":\(expiresAt)"
        text += ",\"issued_at\":\(issuedAt)"
        text += ",\"issuer_id\":" + Self.pythonJSONString(issuerID)
        text += ",\"mesh_id\":" + Self.pythonJSONString(meshID)
        text += ",\"node_id\":" + (nodeID.map(Self.pythonJSONString) ?? "null")
        text += ",\"nonce\":" + Self.pythonJSONString(nonce)
        text += "}"
        return Data(text.utf8)
    }

    /// Python sorts strings by code point; Swift's `<` on `String` compares by Unicode
    /// canonical ordering, which can differ for non-ASCII text, so compare scalars.
    static func pythonOrder(_ lhs: String, _ rhs: String) -> Bool {
        lhs.unicodeScalars.lexicographicallyPrecedes(rhs.unicodeScalars) { $0.value < $1.value }
    }

    /// A JSON string literal exactly as Python's `json.dumps` writes it with
    /// `ensure_ascii=True`: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f` as short escapes; every
    /// other character outside `0x20...0x7E` as `\u` and four lowercase hex digits (UTF-16
    /// surrogate pairs above U+FFFF); `/` unescaped.
    public static func pythonJSONString(_ value: String) -> String {
        var text = "\""
        text.reserveCapacity(value.utf8.count + 2)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "\u{08}": text += "\\b"
            case "\u{0C}": text += "\\f"
            default:
                if scalar.value >= 0x20 && scalar.value <= 0x7E {
                    text.unicodeScalars.append(scalar)
                } else if scalar.value <= 0xFFFF {
                    text += unicodeEscape(scalar.value)
                } else {
                    let offset = scalar.value - 0x10000
                    text += unicodeEscape(0xD800 + (offset >> 10))
                    text += unicodeEscape(0xDC00 + (offset & 0x3FF))
                }
            }
        }
        text += "\""
        return text
    }

    private static func unicodeEscape(_ unit: UInt32) -> String {
        let hex = String(unit, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
