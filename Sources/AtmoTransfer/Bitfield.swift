/// A fixed-size set of piece indexes, stored as bytes (bit i of byte i/8, LSB first) so it
/// can be persisted as is.
public struct Bitfield: Sendable, Hashable {
    public private(set) var bytes: [UInt8]
    public let count: Int

    public init(count: Int) {
        self.count = count
        bytes = [UInt8](repeating: 0, count: (count + 7) / 8)
    }

    /// Restores a saved bitfield; bytes of the wrong length give an empty one.
    public init(count: Int, bytes: [UInt8]) {
        self.init(count: count)
        if bytes.count == self.bytes.count { self.bytes = bytes }
        // Clear bits past `count` so equality and counts stay exact.
        if count % 8 != 0, !self.bytes.isEmpty { self.bytes[self.bytes.count - 1] &= UInt8((1 << (count % 8)) - 1) }
    }

    public subscript(index: Int) -> Bool {
        get { bytes[index / 8] & (1 << UInt8(index % 8)) != 0 }
        set {
            if newValue { bytes[index / 8] |= 1 << UInt8(index % 8) } else { bytes[index / 8] &= ~(1 << UInt8(index % 8)) }
        }
    }

    public var setCount: Int { bytes.reduce(0) { $0 + $1.nonzeroBitCount } }
}
