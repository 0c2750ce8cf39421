/// The binary frames of the relay (**Extension**, advertised as the `binary_direct`
/// feature): bulk bytes from one peer to another without JSON or base64.
///
/// Layout, in both directions:
///
/// | bytes | meaning |
/// |---|---|
/// | 0 | kind: `0x01` = direct |
/// | 1 | L, the length of the node id, 1...64 |
/// | 2 ..< 2+L | the node id, printable ASCII without spaces |
/// | 2+L ... | the opaque payload |
///
/// A client names the *target* in the header; the relay rewrites it to the *sender's* node
/// id before forwarding. A node accepts such frames only when it joined with the
/// `binary_direct` capability.
public enum RelayBinaryFrame {
    /// The capability a node joins with to receive binary frames, and the feature a relay
    /// advertises (in `joined` and `/health`) when it forwards them.
    public static let capability = "binary_direct"
    /// Byte 0 of a `direct` frame.
    public static let directKind: UInt8 = 0x01
    /// The longest node id a header can carry.
    public static let maxNodeIDBytes = 64

    /// The header of a frame: its node id and where the payload starts.
    public struct Header: Sendable, Hashable {
        /// The target (client to relay) or the sender (relay to client).
        public var nodeID: String
        /// Bytes before the payload: `2 + nodeID.utf8.count`.
        public var length: Int

        /// A header for `nodeID`.
        public init(nodeID: String, length: Int) {
            self.nodeID = nodeID
            self.length = length
        }
    }

    /// Reads the header of a `direct` frame from its first bytes. Throws a `WireError` that
    /// says what is wrong: another kind, a length outside 1...64, a frame shorter than its
    /// header, or a node id that is not printable ASCII without spaces.
    public static func parseDirectHeader<Bytes: Collection<UInt8>>(_ frame: Bytes) throws(WireError) -> Header {
        var bytes = frame.makeIterator()
        guard let kind = bytes.next() else { throw WireError(.missingField, "binary frame: empty") }
        guard kind == directKind else {
            throw WireError(.invalidValue, "binary frame: unknown kind 0x\(String(kind, radix: 16)) (only 0x01, direct, exists)")
        }
        guard let length = bytes.next() else { throw WireError(.missingField, "binary frame: no node id length") }
        guard (1...maxNodeIDBytes).contains(Int(length)) else {
            throw WireError(.invalidValue, "binary frame: node id length \(length) is outside 1...\(maxNodeIDBytes)")
        }
        var id: [UInt8] = []
        id.reserveCapacity(Int(length))
        for _ in 0..<Int(length) {
            guard let byte = bytes.next() else {
                throw WireError(.missingField, "binary frame: shorter than its \(length)-byte node id")
            }
            id.append(byte)
        }
        let nodeID = String(decoding: id, as: UTF8.self)
        guard id.allSatisfy({ $0 > 0x20 && $0 < 0x7F }), Validation.isValidNodeID(nodeID) else {
            throw WireError(.invalidValue, "binary frame: the node id must be printable ASCII without spaces")
        }
        return Header(nodeID: nodeID, length: 2 + Int(length))
    }

    /// The header bytes of a `direct` frame naming `nodeID`, or nil when the id cannot be
    /// carried (empty, longer than 64 bytes, or not printable ASCII without spaces).
    public static func directHeader(nodeID: String) -> [UInt8]? {
        let id = Array(nodeID.utf8)
        guard (1...maxNodeIDBytes).contains(id.count), id.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        return [directKind, UInt8(id.count)] + id
    }
}
