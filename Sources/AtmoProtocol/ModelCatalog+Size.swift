/// What a catalog weighs: the size of its compact JSON, measured from the decoded values
/// (strings by their UTF-8 bytes, every field name and punctuation counted) without
/// encoding it again. A node bounds what it keeps of other nodes' catalogs by this figure
/// (docs/MESH.md, "Memory"). It is exact up to number formatting and string escapes, and
/// counts what the decoded catalog holds, not what a peer's escapes made the text weigh.
extension ModelCatalog {
    /// About the bytes of this catalog's compact JSON (`WireCoding.encode`).
    public var wireSize: Int {
        var size = 180  // field names, punctuation, timestamp and TTL of the envelope
        size += protocolVersion.utf8.count + nodeID.utf8.count + nodeName.utf8.count
        size += (transferEndpoints.http?.utf8.count ?? 0) + Self.size(of: transferEndpoints.extra)
        size += Self.size(of: extra)
        for entry in models { size += entry.wireSize + 1 }
        return size
    }

    static func size(of fields: [String: JSONValue]) -> Int {
        fields.reduce(0) { $0 + $1.key.utf8.count + 4 + $1.value.wireSize }
    }
}

extension ModelEntry {
    /// About the bytes of this entry's compact JSON.
    public var wireSize: Int {
        var size = 330  // field names, punctuation and numbers
        for text in [modelID, name, type, format, sha256, version, source, sourceRef, baseModel ?? ""] {
            size += text.utf8.count
        }
        for text in capabilities { size += text.utf8.count + 3 }
        for text in classes ?? [] { size += text.utf8.count + 3 }
        size += ModelCatalog.size(of: metadata) + ModelCatalog.size(of: extra)
        return size
    }
}

extension JSONValue {
    /// About the bytes of this value's compact JSON.
    public var wireSize: Int {
        switch self {
        case .null: return 4
        case .bool: return 5
        case .number, .integer: return 20
        case .string(let text): return text.utf8.count + 2
        case .array(let values): return values.reduce(2) { $0 + $1.wireSize + 1 }
        case .object(let fields): return ModelCatalog.size(of: fields) + 2
        }
    }
}
