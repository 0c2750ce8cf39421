/// What a catalog weighs, measured from the decoded values without encoding them again.
///
/// - `wireSize`: about the size of its compact JSON (strings by their UTF-8 bytes, every
///   field name and punctuation counted). Exact up to number formatting and string escapes;
///   it counts what the decoded catalog holds, not what a peer's escapes made the text weigh.
/// - `heldSize`: at least the memory the decoded catalog holds. The JSON text undercounts
///   it: `[{"a":null}, …]` is 12 bytes an element but each element is a dictionary of its
///   own. So every container and element is charged a fixed `HeldSizeCharge` on top of its
///   JSON. A node bounds what it keeps of other nodes' catalogs by this figure
///   (docs/MESH.md, "Memory").
extension ModelCatalog {
    /// About the bytes of this catalog's compact JSON (`WireCoding.encode`).
    public var wireSize: Int { size(held: false) }

    /// At least the bytes of memory this catalog holds (its `wireSize` plus
    /// `HeldSizeCharge` for every string, array, object and element in it).
    public var heldSize: Int { size(held: true) }

    func size(held: Bool) -> Int {
        var size = 180  // field names, punctuation, timestamp and TTL of the envelope
        size += HeldSizeCharge.text(protocolVersion, held) + HeldSizeCharge.text(nodeID, held)
        size += HeldSizeCharge.text(nodeName, held) + (transferEndpoints.http.map { HeldSizeCharge.text($0, held) } ?? 0)
        size += Self.size(of: transferEndpoints.extra, held: held) + Self.size(of: extra, held: held)
        for entry in models { size += entry.size(held: held) + 1 }
        if !partialModels.isEmpty { size += 20 }  // "partial_models":[]
        for entry in partialModels { size += entry.size(held: held) + 1 }
        if !repositories.isEmpty { size += 18 }  // "repositories":[]
        for entry in repositories { size += entry.size(held: held) + 1 }
        if held {
            size += HeldSizeCharge.array(models.count) + HeldSizeCharge.array(partialModels.count)
            size += HeldSizeCharge.array(repositories.count)
            size += HeldSizeCharge.array(rejectedModels.count)
            // Entries refused at decoding are kept as errors (code and message).
            for error in rejectedModels { size += HeldSizeCharge.text(error.message, true) + 16 }
        }
        return size
    }

    static func size(of fields: [String: JSONValue], held: Bool) -> Int {
        let content = fields.reduce(0) { $0 + HeldSizeCharge.text($1.key, held) + 2 + $1.value.size(held: held) }
        return content + (held ? HeldSizeCharge.object(fields.count) : 0)
    }
}

/// The fixed charges `heldSize` adds to the JSON bytes for what a decoded value holds
/// beyond its text (64-bit Swift): a heap string's header, an array's header and element
/// slot, a dictionary's storage, its hash buckets and key and value slots. Rounded up, so
/// the figure is at least the memory held (the charge of `[{"a":null}]` is about 250 bytes
/// an element, for the 150-180 a dictionary and its slot take).
enum HeldSizeCharge {
    /// A string: its UTF-8 bytes (and quotes) plus a heap header when held.
    static func text(_ text: String, _ held: Bool) -> Int { text.utf8.count + 2 + (held ? 16 : 0) }

    /// An array of `count` elements, beyond its elements' own size.
    static func array(_ count: Int) -> Int { count == 0 ? 0 : 32 + 16 * count }

    /// A dictionary of `count` fields, beyond its keys' and values' own size (an empty one
    /// shares one storage and costs nothing).
    static func object(_ count: Int) -> Int { count == 0 ? 0 : 160 + 48 * count }
}

extension ModelEntry {
    /// About the bytes of this entry's compact JSON.
    public var wireSize: Int { size(held: false) }

    /// At least the bytes of memory this entry holds (see `ModelCatalog.heldSize`).
    public var heldSize: Int { size(held: true) }

    func size(held: Bool) -> Int {
        var size = 330 - 2 * 9  // field names, punctuation and numbers (the quotes come with each text)
        for text in [modelID, name, type, format, sha256, version, source, sourceRef, baseModel ?? ""] {
            size += HeldSizeCharge.text(text, held)
        }
        for text in capabilities { size += HeldSizeCharge.text(text, held) + 1 }
        for text in classes ?? [] { size += HeldSizeCharge.text(text, held) + 1 }
        if held { size += HeldSizeCharge.array(capabilities.count) + HeldSizeCharge.array(classes?.count ?? 0) }
        size += ModelCatalog.size(of: metadata, held: held) + ModelCatalog.size(of: extra, held: held)
        if let piecesSHA256 {
            // `,"piece_size":N,"pieces_sha256":"..."` (every partial entry carries them).
            size += 32 + 20 + HeldSizeCharge.text(piecesSHA256, held)
        }
        return size
    }
}

extension JSONValue {
    /// About the bytes of this value's compact JSON.
    public var wireSize: Int { size(held: false) }

    /// At least the bytes of memory this value holds (see `ModelCatalog.heldSize`).
    public var heldSize: Int { size(held: true) }

    func size(held: Bool) -> Int {
        switch self {
        case .null: return 4
        case .bool: return 5
        case .number, .integer: return 20
        case .string(let text): return HeldSizeCharge.text(text, held)
        case .array(let values):
            return values.reduce(2) { $0 + $1.size(held: held) + 1 } + (held ? HeldSizeCharge.array(values.count) : 0)
        case .object(let fields): return ModelCatalog.size(of: fields, held: held) + 2
        }
    }
}
