/// What LAN discovery reports to its `onEvent` callback.
public enum DiscoveryEvent: Sendable, Hashable {
    /// An instance of the service type became complete (its SRV, TXT and at least one
    /// address are known), or the data of one already reported changed (a new TXT, port or
    /// address): the value is then the whole new description.
    case found(DiscoveredService)
    /// An instance reported before is gone: it said goodbye, or its records expired
    /// without being refreshed. `instanceName` is the instance label, as in `found`.
    case lost(instanceName: String)
}

/// One DNS-SD instance of the service type, resolved.
public struct DiscoveredService: Sendable, Hashable {
    /// The instance label (`node-a` of `node-a._atmosphere._tcp.local.`); for Atmosphere
    /// nodes, the node's name.
    public var instanceName: String
    /// The SRV target host, with a trailing dot (`atmo-node-a.local.`).
    public var hostName: String
    /// The SRV port.
    public var port: Int
    /// The host's addresses from its A records, then its AAAA records, as text.
    public var addresses: [String]
    /// Every key of the TXT record. A key present without `=` has the value "".
    public var txt: [String: String]

    /// Creates a description (discovery makes these; tests and callers may too).
    public init(instanceName: String, hostName: String, port: Int, addresses: [String], txt: [String: String]) {
        self.instanceName = instanceName
        self.hostName = hostName
        self.port = port
        self.addresses = addresses
        self.txt = txt
    }

    /// The `node_id` TXT value: an opaque node id, often 16 hex characters.
    public var nodeID: String? { txt[TXTKey.nodeID] }
    /// The `mesh_id` TXT value; an empty string means "no mesh".
    public var meshID: String? { txt[TXTKey.meshID] }
    /// The `capabilities` TXT value split at commas, trimmed, empties dropped.
    public var capabilities: [String] {
        (txt[TXTKey.capabilities] ?? "").split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
    }
    /// The `http_port` TXT value (this project's nodes), if present and a valid port.
    public var httpPort: Int? {
        guard let text = txt[TXTKey.httpPort], let port = Int(text), (1...65535).contains(port) else { return nil }
        return port
    }
    /// The `protocol_version` TXT value (this project's nodes: "1.1").
    public var protocolVersion: String? { txt[TXTKey.protocolVersion] }
    /// The `node_name` TXT value (this project's nodes).
    public var nodeName: String? { txt[TXTKey.nodeName] }
}

/// The TXT keys Atmosphere nodes use.
public enum TXTKey {
    /// `node_id`: the node's id (shared with other Atmosphere implementations).
    public static let nodeID = "node_id"
    /// `mesh_id`: the mesh the node belongs to, possibly empty (shared).
    public static let meshID = "mesh_id"
    /// `capabilities`: comma-separated (shared).
    public static let capabilities = "capabilities"
    /// `http_port`: the port of the node's HTTP API (this project).
    public static let httpPort = "http_port"
    /// `protocol_version`: the version of this project's protocol, "1.1".
    public static let protocolVersion = "protocol_version"
    /// `node_name`: the node's display name (this project).
    public static let nodeName = "node_name"
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

/// Converts between TXT character-strings and a dictionary (RFC 6763 §6).
enum TXTCoding {
    /// `key=value` strings, keys sorted so the record is stable. Throws for an empty key,
    /// a key with `=` or non-printable ASCII, or a pair over 255 bytes.
    static func encode(_ txt: [String: String]) throws(DiscoveryError) -> [[UInt8]] {
        try txt.keys.sorted().map { (key) throws(DiscoveryError) -> [UInt8] in
            let keyBytes = Array(key.utf8)
            guard !keyBytes.isEmpty, keyBytes.allSatisfy({ (0x20...0x7E).contains($0) && $0 != UInt8(ascii: "=") }) else {
                throw DiscoveryError(code: .invalidConfiguration, message: "TXT key '\(key)' must be printable ASCII without '='")
            }
            let pair = keyBytes + [UInt8(ascii: "=")] + Array(txt[key, default: ""].utf8)
            guard pair.count <= 255 else {
                throw DiscoveryError(code: .invalidConfiguration, message: "TXT entry '\(key)' is over 255 bytes")
            }
            return pair
        }
    }

    /// The dictionary of a TXT record: the first occurrence of a key wins (keys compared
    /// case-insensitively), empty strings and strings starting with `=` are skipped, a
    /// key without `=` maps to "".
    static func decode(_ strings: [[UInt8]]) -> [String: String] {
        var result: [String: String] = [:]
        var seen: Set<[UInt8]> = []
        for string in strings {
            let separator = string.firstIndex(of: UInt8(ascii: "=")) ?? string.endIndex
            guard separator > string.startIndex else { continue }
            let keyBytes = Array(string[..<separator])
            guard seen.insert(DNSName.asciiLowercased(keyBytes)).inserted else { continue }
            let valueBytes = separator < string.endIndex ? string[(separator + 1)...] : []
            result[String(decoding: keyBytes, as: UTF8.self)] = String(decoding: valueBytes, as: UTF8.self)
        }
        return result
    }
}
