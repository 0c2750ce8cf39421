/// A DNS resource record type (RFC 1035 §3.2.2), as its 16-bit code.
struct DNSRecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    var rawValue: UInt16

    init(rawValue: UInt16) { self.rawValue = rawValue }

    static let a = DNSRecordType(rawValue: 1)
    static let ptr = DNSRecordType(rawValue: 12)
    static let txt = DNSRecordType(rawValue: 16)
    static let aaaa = DNSRecordType(rawValue: 28)
    static let srv = DNSRecordType(rawValue: 33)
    static let nsec = DNSRecordType(rawValue: 47)
    /// Only in questions: every type.
    static let any = DNSRecordType(rawValue: 255)

    var description: String {
        switch self {
        case .a: "A"
        case .ptr: "PTR"
        case .txt: "TXT"
        case .aaaa: "AAAA"
        case .srv: "SRV"
        case .nsec: "NSEC"
        case .any: "ANY"
        default: "TYPE\(rawValue)"
        }
    }
}

/// The Internet class; 255 (ANY) is accepted in questions.
enum DNSClass {
    static let internet: UInt16 = 1
    static let any: UInt16 = 255
}

/// An IPv4 address, stored in network order in a `UInt32`.
struct IPv4Address: Hashable, Sendable, CustomStringConvertible {
    var value: UInt32

    init(value: UInt32) { self.value = value }

    init(bytes: [UInt8]) {
        precondition(bytes.count == 4)
        self.value = bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Parses dotted-quad text (`192.0.2.1`); nil for anything else.
    init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCII), let byte = UInt8(part) else { return nil }
            bytes.append(byte)
        }
        self.init(bytes: bytes)
    }

    var bytes: [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) } }
    var isLoopback: Bool { value >> 24 == 127 }
    var description: String { bytes.map(String.init).joined(separator: ".") }
}

/// An IPv6 address as 16 bytes; printed in the RFC 5952 form.
struct IPv6Address: Hashable, Sendable, CustomStringConvertible {
    var bytes: [UInt8]

    init(bytes: [UInt8]) {
        precondition(bytes.count == 16)
        self.bytes = bytes
    }

    var description: String {
        let groups = stride(from: 0, to: 16, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
        // The longest run of two or more zero groups becomes "::" (the first one on a tie).
        var best = (start: -1, length: 0)
        var index = 0
        while index < groups.count {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            let start = index
            while index < groups.count, groups[index] == 0 { index += 1 }
            if index - start > best.length { best = (start, index - start) }
        }
        let hex = groups.map { String($0, radix: 16) }
        guard best.length >= 2 else { return hex.joined(separator: ":") }
        let head = hex[..<best.start].joined(separator: ":")
        let tail = hex[(best.start + best.length)...].joined(separator: ":")
        return head + "::" + tail
    }
}

/// The target of an SRV record (RFC 2782).
struct DNSServiceLocation: Hashable, Sendable {
    var priority: UInt16
    var weight: UInt16
    var port: UInt16
    var target: DNSName
}

/// The data of a record, decoded for the types discovery uses.
enum DNSRecordData: Hashable, Sendable {
    case a(IPv4Address)
    case aaaa(IPv6Address)
    case ptr(DNSName)
    case srv(DNSServiceLocation)
    /// The character-strings of a TXT record, each at most 255 bytes.
    case txt([[UInt8]])
    /// NSEC and every other type: the raw bytes, kept only to be skipped. They may hold
    /// compression pointers into the message they came in, so they are never re-encoded.
    case opaque([UInt8])
}

/// One resource record. `ttl` is in seconds; `cacheFlush` is the top bit of the class in
/// mDNS responses (RFC 6762 §10.2).
struct DNSResourceRecord: Hashable, Sendable {
    var name: DNSName
    var type: DNSRecordType
    var recordClass: UInt16 = DNSClass.internet
    var cacheFlush: Bool = false
    var ttl: UInt32
    var data: DNSRecordData

    init(
        name: DNSName, type: DNSRecordType, recordClass: UInt16 = DNSClass.internet, cacheFlush: Bool = false,
        ttl: UInt32, data: DNSRecordData
    ) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
        self.cacheFlush = cacheFlush
        self.ttl = ttl
        self.data = data
    }

    /// Whether `other` names the same data: same name, type, class and rdata, whatever
    /// the TTL and cache-flush bit.
    func hasSameData(as other: DNSResourceRecord) -> Bool {
        name == other.name && type == other.type && recordClass == other.recordClass && data == other.data
    }
}

/// A question. `unicastResponse` is the top bit of the class (the "QU" bit, RFC 6762 §5.4).
struct DNSQuestion: Hashable, Sendable {
    var name: DNSName
    var type: DNSRecordType
    var questionClass: UInt16 = DNSClass.internet
    var unicastResponse: Bool = false
}

/// A DNS message (RFC 1035 §4.1): header, questions and the three record sections.
struct DNSMessage: Hashable, Sendable {
    var id: UInt16 = 0
    /// The 16 flag bits of the header: QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode.
    var flags: UInt16 = 0
    var questions: [DNSQuestion] = []
    var answers: [DNSResourceRecord] = []
    var authorities: [DNSResourceRecord] = []
    var additionals: [DNSResourceRecord] = []

    /// The flags of an mDNS response: QR and AA set (RFC 6762 §18.2, §18.4).
    static let responseFlags: UInt16 = 0x8400

    var isResponse: Bool { flags & 0x8000 != 0 }
    var opcode: UInt16 { (flags >> 11) & 0xF }
    var responseCode: UInt16 { flags & 0xF }
    var isTruncated: Bool { flags & 0x0200 != 0 }

    /// Every record of the answer, authority and additional sections, in that order.
    var allRecords: [DNSResourceRecord] { answers + authorities + additionals }
}
