/// Any JSON value, used for free-form `metadata` and for fields this version does not know
/// (which must be kept when a message is re-gossiped).
public enum JSONValue: Sendable, Hashable, Codable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// Any number a Double holds exactly (every integer up to 2^53); integers are written
    /// back without a fraction.
    case number(Double)
    /// An integer beyond 2^53, kept exact (a Double would round it): a peer's id or counter
    /// in a field this version does not know goes back out as it came in. Integers beyond
    /// the range of Int64 are read as the nearest Double.
    case integer(Int64)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object.
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self), value.magnitude > Self.exactDoubleLimit {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            guard value != JSONDepthGuard.marker || decoder.userInfo[JSONDepthGuard.keepMarkers] as? Bool == true else {
                throw DecodingError.wire(
                    .tooLarge, decoder.codingPath, "nested more than \(WireLimits.maxJSONDepth) levels deep")
            }
            self = .string(value)
        } else {
            // Not `try?`: a value cut by `JSONDepthGuard` deep inside must fail as such.
            do {
                self = .array(try container.decode([JSONValue].self))
            } catch DecodingError.typeMismatch {
                self = .object(try container.decode([String: JSONValue].self))
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            // Integers stay integers on the wire: a Double would print `3.0` or `1.7e+18`,
            // which a peer's JSON parser reads back as a float.
            if value.rounded() == value, abs(value) < 9.2e18 {
                try container.encode(Int64(value))
            } else {
                try container.encode(value)
            }
        case .integer(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// 2^53: every integer up to this is exact as a Double.
    static let exactDoubleLimit: UInt64 = 1 << 53

    /// The value as a Double, when this is a number (an `integer` rounded).
    public var doubleValue: Double? {
        switch self {
        case .number(let value): return value
        case .integer(let value): return Double(value)
        default: return nil
        }
    }

    /// The string, when this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The elements, when this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The fields, when this is an object.
    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }
}

/// A coding key for any field name: used to collect and re-emit unknown fields.
struct AnyCodingKey: CodingKey, Hashable {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { self.stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}

extension KeyedDecodingContainer where Key == AnyCodingKey {
    /// Every field whose name is not in `known`, as JSON values.
    func unknownFields(excluding known: Set<String>) throws -> [String: JSONValue] {
        var extra: [String: JSONValue] = [:]
        for key in allKeys where !known.contains(key.stringValue) {
            extra[key.stringValue] = try decode(JSONValue.self, forKey: key)
        }
        return extra
    }
}

extension KeyedEncodingContainer where Key == AnyCodingKey {
    mutating func encodeUnknownFields(_ extra: [String: JSONValue], excluding known: Set<String>) throws {
        for (name, value) in extra where !known.contains(name) {
            try encode(value, forKey: AnyCodingKey(name))
        }
    }
}
