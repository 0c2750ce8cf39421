/// A domain name as a list of labels, compared the way DNS compares names: ASCII letters
/// case-insensitively, every other byte exactly (RFC 1035 §2.3.3, RFC 6762 §16).
///
/// Labels are kept structured, so an instance label may itself contain dots or spaces
/// (RFC 6763 §4.3) without being split.
struct DNSName: Hashable, Sendable, CustomStringConvertible {
    /// The labels, most specific first, without the empty root label.
    private(set) var labels: [String]

    /// The most bytes a name may take on the wire, length octets and root included.
    static let maximumWireLength = 255
    /// The most bytes one label may hold.
    static let maximumLabelLength = 63

    init(labels: [String]) {
        self.labels = labels
    }

    /// Parses dotted text such as `_atmosphere._tcp.local.`; a trailing dot is optional
    /// and empty labels are dropped. No escapes: use `init(labels:)` for labels with dots.
    init(_ text: String) {
        self.labels = text.split(separator: ".", omittingEmptySubsequences: true).map(String.init)
    }

    /// `self` with `label` put in front: the instance `label` of service type `self`.
    func prepending(_ label: String) -> DNSName {
        DNSName(labels: [label] + labels)
    }

    /// The name without its first label (the parent domain); the root stays the root.
    var parent: DNSName {
        DNSName(labels: Array(labels.dropFirst()))
    }

    /// The first label, if any.
    var firstLabel: String? { labels.first }

    /// Dotted text with a trailing dot (dots inside labels are not escaped).
    var description: String { labels.joined(separator: ".") + "." }

    /// The labels with ASCII letters lowercased: the form names are compared and hashed in.
    var canonicalLabels: [[UInt8]] { labels.map { Self.asciiLowercased(Array($0.utf8)) } }

    /// The bytes this name takes uncompressed on the wire.
    var wireLength: Int { labels.reduce(1) { $0 + 1 + $1.utf8.count } }

    /// Whether every label is 1-63 bytes and the whole name at most 255 bytes.
    var isValid: Bool {
        wireLength <= Self.maximumWireLength
            && labels.allSatisfy { (1...Self.maximumLabelLength).contains($0.utf8.count) }
    }

    static func == (lhs: DNSName, rhs: DNSName) -> Bool {
        guard lhs.labels.count == rhs.labels.count else { return false }
        for (left, right) in zip(lhs.labels, rhs.labels) where !labelsEqual(left, right) {
            return false
        }
        return true
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(canonicalLabels)
    }

    static func labelsEqual(_ left: String, _ right: String) -> Bool {
        let leftBytes = left.utf8
        let rightBytes = right.utf8
        guard leftBytes.count == rightBytes.count else { return false }
        return zip(leftBytes, rightBytes).allSatisfy { asciiLowercased($0) == asciiLowercased($1) }
    }

    static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }

    static func asciiLowercased(_ bytes: [UInt8]) -> [UInt8] {
        bytes.map(asciiLowercased)
    }
}

extension DNSName {
    /// `_services._dns-sd._udp.local.`: browsing it lists the service types on the link
    /// (RFC 6763 §9).
    static let serviceTypeEnumeration = DNSName("_services._dns-sd._udp.local.")
}
