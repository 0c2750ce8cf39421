/// Which `peer` label a node id gets in the byte counters, with bounded cardinality: the
/// first `capacity` well-formed node ids seen get their own label, every later one (and any
/// id that is not a plain token) counts under `other`, an unnamed peer under `unknown`. A
/// label once given stays (counters never move between series), so a hostile mesh of any
/// number of node ids costs at most `capacity` + 2 series per route. Pure.
struct PeerLabels: Sendable {
    static let other = "other"
    static let unknown = "unknown"
    /// Most characters of a node id used as a label (ids are 64 hex characters).
    static let maxIDLength = 128

    let capacity: Int
    private(set) var assigned: Set<String> = []

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// The label of `nodeID`, assigning it one of the free labels if it is new.
    mutating func label(for nodeID: String?) -> String {
        guard let nodeID, !nodeID.isEmpty else { return Self.unknown }
        if assigned.contains(nodeID) { return nodeID }
        guard Self.isPlainToken(nodeID), nodeID != Self.other, nodeID != Self.unknown, assigned.count < capacity else {
            return Self.other
        }
        assigned.insert(nodeID)
        return nodeID
    }

    /// ASCII letters, digits, `-`, `_`, `.` and `:`, at most `maxIDLength` of them.
    static func isPlainToken(_ value: String) -> Bool {
        value.utf8.count <= maxIDLength
            && value.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                    UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"):
                    return true
                default:
                    return false
                }
            }
    }
}
