/// Reads the fields of one JSON object with the tolerance peers need (nulls, missing optional
/// fields, integral floats) and the bounds safety needs (string lengths, array sizes).
/// Every message type decodes through this, so the rules live in one place.
struct FieldReader {
    let container: KeyedDecodingContainer<AnyCodingKey>
    private(set) var known: Set<String> = []

    init(_ decoder: any Decoder) throws {
        container = try decoder.container(keyedBy: AnyCodingKey.self)
    }

    private mutating func key(_ name: String) -> AnyCodingKey {
        known.insert(name)
        return AnyCodingKey(name)
    }

    /// A failure of field `name`, carrying the `WireError.Code` that `WireCoding` reports.
    func fail(_ name: String, _ code: WireError.Code, _ message: String) -> DecodingError {
        DecodingError.wire(code, container.codingPath + [AnyCodingKey(name)], message)
    }

    /// An `invalidValue` failure of field `name`.
    func fail(_ name: String, _ message: String) -> DecodingError {
        fail(name, .invalidValue, message)
    }

    mutating func optionalString(_ name: String) throws -> String? {
        let key = key(name)
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        let value: String
        if let string = try? container.decode(String.self, forKey: key) {
            value = string
        } else if let number = try? container.decode(Double.self, forKey: key) {
            // Some peers send versions as bare numbers. Integral values print without ".0";
            // the bound keeps `Int64(_:)` from trapping on a huge number from a peer.
            value = number.rounded() == number && abs(number) < 9.0e18 ? String(Int64(number)) : String(number)
        } else {
            throw fail(name, "expected a string")
        }
        guard value.utf8.count <= WireLimits.maxStringLength else {
            throw fail(name, .tooLarge, "string longer than \(WireLimits.maxStringLength) bytes")
        }
        return value
    }

    mutating func string(_ name: String) throws -> String {
        guard let value = try optionalString(name) else { throw fail(name, .missingField, "missing required field") }
        return value
    }

    mutating func optionalInt(_ name: String) throws -> Int64? {
        let key = key(name)
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        if let value = try? container.decode(Int64.self, forKey: key) { return value }
        if let value = try? container.decode(Double.self, forKey: key), value.rounded() == value, abs(value) < 9.0e18 {
            return Int64(value)
        }
        throw fail(name, "expected an integer")
    }

    /// An integer that older peers may send as a float (`time.time() * 1000`): truncated.
    mutating func optionalTruncatedInt(_ name: String) throws -> Int64? {
        let key = key(name)
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        if let value = try? container.decode(Int64.self, forKey: key) { return value }
        guard let value = try? container.decode(Double.self, forKey: key), value.isFinite, abs(value) < 9.0e18 else {
            throw fail(name, "expected a number")
        }
        return Int64(value.rounded(.towardZero))
    }

    mutating func int(_ name: String) throws -> Int64 {
        guard let value = try optionalInt(name) else { throw fail(name, .missingField, "missing required field") }
        return value
    }

    mutating func nonNegativeInt(_ name: String) throws -> Int64 {
        let value = try int(name)
        guard value >= 0 else { throw fail(name, "must not be negative") }
        return value
    }

    /// A byte count or offset: 0 through `WireLimits.maxFileSizeBytes` (a size no disk holds
    /// is refused here, before any arithmetic sees it).
    mutating func byteCount(_ name: String) throws -> Int64 {
        guard let value = try optionalByteCount(name) else { throw fail(name, .missingField, "missing required field") }
        return value
    }

    /// `byteCount`, or nil when absent or null.
    mutating func optionalByteCount(_ name: String) throws -> Int64? {
        let key = key(name)
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        let value: Int64
        if let exact = try? container.decode(Int64.self, forKey: key) {
            value = exact
        } else if let number = try? container.decode(Double.self, forKey: key), number.isFinite, number.rounded() == number {
            // Beyond Int64 (1e30) too: still a number, just an impossible size.
            guard abs(number) < 9.0e18 else { throw impossibleSize(name, "\(number)") }
            value = Int64(number)
        } else {
            throw fail(name, "expected an integer")
        }
        guard value >= 0 else { throw fail(name, "must not be negative") }
        guard value <= WireLimits.maxFileSizeBytes else { throw impossibleSize(name, "\(value)") }
        return value
    }

    private func impossibleSize(_ name: String, _ value: String) -> DecodingError {
        fail(name, .tooLarge, "\(name) of \(value) bytes is more than any disk holds (limit \(WireLimits.maxFileSizeBytes), 1 PiB)")
    }

    mutating func optionalDouble(_ name: String) throws -> Double? {
        let key = key(name)
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        guard let value = try? container.decode(Double.self, forKey: key), value.isFinite else { throw fail(name, "expected a number") }
        return value
    }

    mutating func optionalBool(_ name: String) throws -> Bool? {
        let key = key(name)
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        guard let value = try? container.decode(Bool.self, forKey: key) else { throw fail(name, "expected a boolean") }
        return value
    }

    /// A string array; JSON null and a missing field both read as nil.
    mutating func optionalStringArray(_ name: String) throws -> [String]? {
        let key = key(name)
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        var nested = try container.nestedUnkeyedContainer(forKey: key)
        let limit = WireLimits.maxArrayElements
        guard (nested.count ?? 0) <= limit else { throw fail(name, .tooLarge, "more than \(limit) elements") }
        var values: [String] = []
        while !nested.isAtEnd {
            guard values.count < limit else { throw fail(name, .tooLarge, "more than \(limit) elements") }
            if try nested.decodeNil() { continue }
            let value = try nested.decode(String.self)
            guard value.utf8.count <= WireLimits.maxStringLength else { throw fail(name, .tooLarge, "element too long") }
            values.append(value)
        }
        return values
    }

    /// An array of values, refused as `tooLarge` beyond `limit` elements before decoding them.
    mutating func array<T: Decodable>(_ type: T.Type, _ name: String, limit: Int) throws -> [T]? {
        let key = key(name)
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        var nested = try container.nestedUnkeyedContainer(forKey: key)
        guard (nested.count ?? 0) <= limit else { throw fail(name, .tooLarge, "more than \(limit) elements") }
        var values: [T] = []
        while !nested.isAtEnd {
            guard values.count < limit else { throw fail(name, .tooLarge, "more than \(limit) elements") }
            values.append(try nested.decode(T.self))
        }
        return values
    }

    /// Like `array`, but an element that fails to decode is left out and its error returned
    /// instead of failing the whole array (one odd entry of a peer must not hide the rest).
    /// The count limit still fails the whole array.
    mutating func lossyArray<T: Decodable>(_ type: T.Type, _ name: String, limit: Int) throws -> (values: [T], rejected: [WireError])? {
        guard let results = try array(LossyElement<T>.self, name, limit: limit) else { return nil }
        var values: [T] = []
        var rejected: [WireError] = []
        for result in results {
            switch result.result {
            case .success(let value): values.append(value)
            case .failure(let error): rejected.append(error)
            }
        }
        return (values, rejected)
    }

    mutating func object(_ name: String) throws -> [String: JSONValue]? {
        let key = key(name)
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        return try container.decode([String: JSONValue].self, forKey: key)
    }

    mutating func decode<T: Decodable>(_ type: T.Type, _ name: String) throws -> T? {
        let key = key(name)
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        return try container.decode(T.self, forKey: key)
    }

    /// A `model_id`, checked against `Validation.isValidModelID`.
    mutating func modelID(_ name: String = "model_id") throws -> String {
        let value = try string(name)
        guard Validation.isValidModelID(value) else {
            throw fail(name, .invalidModelID, "invalid model_id (1-\(WireLimits.maxModelIDLength) of A-Z a-z 0-9 . _ -, no '..')")
        }
        return value
    }

    /// A SHA-256, lowercased, checked to be 64 hex characters.
    mutating func sha256(_ name: String) throws -> String {
        let value = try string(name).lowercased()
        guard Validation.isValidSHA256(value) else { throw fail(name, .invalidSHA256, "\(name) must be 64 hex characters") }
        return value
    }

    mutating func optionalSHA256(_ name: String) throws -> String? {
        guard let value = try optionalString(name), !value.isEmpty else { return nil }
        guard Validation.isValidSHA256(value.lowercased()) else { throw fail(name, .invalidSHA256, "\(name) must be 64 hex characters") }
        return value.lowercased()
    }

    /// A model file format, lowercased: empty (unknown) or a short alphanumeric word, so a
    /// peer's format can never turn `{model_id}.{format}` into a path.
    mutating func format(_ name: String = "format") throws -> String {
        let value = (try optionalString(name) ?? "").lowercased()
        guard Validation.isValidFormat(value) else {
            throw fail(name, .invalidValue, "\(name) must be at most \(WireLimits.maxFormatLength) characters of a-z 0-9")
        }
        return value
    }

    /// The fields not read so far, to be kept and re-emitted.
    func unknownFields() throws -> [String: JSONValue] {
        try container.unknownFields(excluding: known)
    }
}

extension DecodingError {
    /// A `dataCorrupted` error whose underlying error is the `WireError` to report.
    static func wire(_ code: WireError.Code, _ path: [any CodingKey], _ message: String) -> DecodingError {
        .dataCorrupted(.init(codingPath: path, debugDescription: message, underlyingError: WireError(code, message)))
    }
}

/// Writes fields, omitting nils, then the unknown fields a message carried in.
struct FieldWriter {
    var container: KeyedEncodingContainer<AnyCodingKey>
    private(set) var written: Set<String> = []

    init(_ encoder: any Encoder) {
        container = encoder.container(keyedBy: AnyCodingKey.self)
    }

    mutating func write<T: Encodable>(_ name: String, _ value: T?) throws {
        written.insert(name)
        guard let value else { return }
        try container.encode(value, forKey: AnyCodingKey(name))
    }

    mutating func finish(extra: [String: JSONValue]) throws {
        try container.encodeUnknownFields(extra, excluding: written)
    }
}

/// One element of a lossy array: the value, or why it was refused. Decoding never throws,
/// so the array's cursor always moves past the element.
struct LossyElement<T: Decodable>: Decodable {
    let result: Result<T, WireError>

    init(from decoder: any Decoder) {
        do {
            result = .success(try T(from: decoder))
        } catch let error as DecodingError {
            result = .failure(WireCoding.wireError(error))
        } catch {
            result = .failure(WireError(.invalidValue, "\(WireCoding.path(decoder.codingPath)): \(error)"))
        }
    }
}
