/// Why a datagram is not a DNS message this codec accepts. The codec never traps on
/// input: every bound is checked and reported here.
struct DNSCodecError: Error, Hashable, CustomStringConvertible {
    /// The kind of failure.
    struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case truncated, oversized, badLabel, badPointer, nameTooLong, badRecordData, unencodable
        }
        private let value: Value

        /// The message ends in the middle of a field.
        static let truncated = Code(value: .truncated)
        /// More than `DNSMessage.maximumSize` bytes.
        static let oversized = Code(value: .oversized)
        /// A label of a reserved type, or one that cannot be encoded (empty or over 63 bytes).
        static let badLabel = Code(value: .badLabel)
        /// A compression pointer that does not point strictly backwards (loops included).
        static let badPointer = Code(value: .badPointer)
        /// A name over 255 bytes.
        static let nameTooLong = Code(value: .nameTooLong)
        /// Record data whose length does not match its type.
        static let badRecordData = Code(value: .badRecordData)
        /// A value the encoder cannot represent (a TXT string over 255 bytes, for example).
        static let unencodable = Code(value: .unencodable)

        var description: String { "\(value)" }
    }

    var code: Code
    /// The byte offset where decoding failed (0 when encoding).
    var offset: Int
    var message: String

    var description: String { "DNS \(code) at byte \(offset): \(message)" }
}

extension DNSMessage {
    /// The largest mDNS message accepted or produced: 9000 bytes (RFC 6762 §17).
    static let maximumSize = 9000

    /// Decodes one datagram. Throws `DNSCodecError` for anything malformed; never traps
    /// and never follows a compression pointer that does not point strictly backwards.
    init(decoding bytes: [UInt8]) throws(DNSCodecError) {
        guard bytes.count <= Self.maximumSize else {
            throw DNSCodecError(code: .oversized, offset: 0, message: "\(bytes.count) bytes")
        }
        var reader = DNSReader(bytes: bytes)
        self.init()
        id = try reader.readUInt16()
        flags = try reader.readUInt16()
        let questionCount = Int(try reader.readUInt16())
        let answerCount = Int(try reader.readUInt16())
        let authorityCount = Int(try reader.readUInt16())
        let additionalCount = Int(try reader.readUInt16())
        // A question takes at least 5 bytes and a record 11: reject impossible counts
        // before reserving anything for them.
        let recordCount = answerCount + authorityCount + additionalCount
        guard questionCount * 5 + recordCount * 11 <= reader.remaining else {
            throw DNSCodecError(code: .truncated, offset: reader.offset, message: "counts exceed the message length")
        }
        questions.reserveCapacity(questionCount)
        for _ in 0..<questionCount { questions.append(try reader.readQuestion()) }
        for _ in 0..<answerCount { answers.append(try reader.readRecord()) }
        for _ in 0..<authorityCount { authorities.append(try reader.readRecord()) }
        for _ in 0..<additionalCount { additionals.append(try reader.readRecord()) }
    }
}

/// A bounds-checked cursor over one message.
struct DNSReader {
    let bytes: [UInt8]
    private(set) var offset = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    private func need(_ count: Int, at position: Int) throws(DNSCodecError) {
        guard position >= 0, count >= 0, position <= bytes.count - count else {
            throw DNSCodecError(code: .truncated, offset: position, message: "needs \(count) more bytes")
        }
    }

    mutating func readUInt16() throws(DNSCodecError) -> UInt16 {
        try need(2, at: offset)
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func readUInt32() throws(DNSCodecError) -> UInt32 {
        let high = try readUInt16()
        let low = try readUInt16()
        return UInt32(high) << 16 | UInt32(low)
    }

    mutating func readBytes(_ count: Int) throws(DNSCodecError) -> [UInt8] {
        try need(count, at: offset)
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func readName() throws(DNSCodecError) -> DNSName {
        let (name, end) = try Self.name(in: bytes, at: offset)
        offset = end
        return name
    }

    /// Reads the name starting at `start`, following compression pointers. Each pointer
    /// must point before the start of the stretch of labels it ends, so positions strictly
    /// decrease and a loop is impossible; the name is also bounded to 255 bytes.
    /// Returns the name and the offset just after it where it started.
    static func name(in bytes: [UInt8], at start: Int) throws(DNSCodecError) -> (DNSName, Int) {
        var labels: [String] = []
        var position = start
        var stretchStart = start
        var end: Int?
        var wireLength = 1
        while true {
            guard position < bytes.count else {
                throw DNSCodecError(code: .truncated, offset: position, message: "name runs past the end")
            }
            let length = Int(bytes[position])
            switch length & 0xC0 {
            case 0x00:
                if length == 0 { return (DNSName(labels: labels), end ?? position + 1) }
                guard position + 1 + length <= bytes.count else {
                    throw DNSCodecError(code: .truncated, offset: position, message: "label runs past the end")
                }
                wireLength += 1 + length
                guard wireLength <= DNSName.maximumWireLength else {
                    throw DNSCodecError(code: .nameTooLong, offset: start, message: "name over 255 bytes")
                }
                labels.append(String(decoding: bytes[(position + 1)..<(position + 1 + length)], as: UTF8.self))
                position += 1 + length
            case 0xC0:
                guard position + 1 < bytes.count else {
                    throw DNSCodecError(code: .truncated, offset: position, message: "pointer runs past the end")
                }
                let target = (length & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < stretchStart else {
                    throw DNSCodecError(code: .badPointer, offset: position, message: "pointer to \(target) is not backwards")
                }
                if end == nil { end = position + 2 }
                stretchStart = target
                position = target
            default:
                throw DNSCodecError(code: .badLabel, offset: position, message: "reserved label type \(length >> 6)")
            }
        }
    }

    mutating func readQuestion() throws(DNSCodecError) -> DNSQuestion {
        let name = try readName()
        let type = DNSRecordType(rawValue: try readUInt16())
        let rawClass = try readUInt16()
        return DNSQuestion(
            name: name, type: type, questionClass: rawClass & 0x7FFF, unicastResponse: rawClass & 0x8000 != 0)
    }

    mutating func readRecord() throws(DNSCodecError) -> DNSResourceRecord {
        let name = try readName()
        let type = DNSRecordType(rawValue: try readUInt16())
        let rawClass = try readUInt16()
        let ttl = try readUInt32()
        let length = Int(try readUInt16())
        let dataStart = offset
        try need(length, at: dataStart)
        let data = try readRecordData(type: type, length: length)
        offset = dataStart + length
        return DNSResourceRecord(
            name: name, type: type, recordClass: rawClass & 0x7FFF, cacheFlush: rawClass & 0x8000 != 0, ttl: ttl,
            data: data)
    }

    private mutating func readRecordData(type: DNSRecordType, length: Int) throws(DNSCodecError) -> DNSRecordData {
        let start = offset
        let end = start + length
        func mismatch(_ what: String) -> DNSCodecError {
            DNSCodecError(code: .badRecordData, offset: start, message: "\(type) data: \(what)")
        }
        switch type {
        case .a:
            guard length == 4 else { throw mismatch("length \(length), expected 4") }
            return .a(IPv4Address(bytes: try readBytes(4)))
        case .aaaa:
            guard length == 16 else { throw mismatch("length \(length), expected 16") }
            return .aaaa(IPv6Address(bytes: try readBytes(16)))
        case .ptr:
            let target = try readName()
            guard offset == end else { throw mismatch("name does not fill the data") }
            return .ptr(target)
        case .srv:
            guard length >= 7 else { throw mismatch("length \(length), expected at least 7") }
            let priority = try readUInt16()
            let weight = try readUInt16()
            let port = try readUInt16()
            let target = try readName()
            guard offset == end else { throw mismatch("name does not fill the data") }
            return .srv(DNSServiceLocation(priority: priority, weight: weight, port: port, target: target))
        case .txt:
            var strings: [[UInt8]] = []
            while offset < end {
                let count = Int(bytes[offset])
                guard offset + 1 + count <= end else { throw mismatch("string runs past the data") }
                offset += 1
                strings.append(try readBytes(count))
            }
            return .txt(strings)
        default:
            return .opaque(try readBytes(length))
        }
    }
}
