/// A rate per transfer chosen by the size of the model moved, as named policies.
///
/// `seed` is the seed protocol's table: under 10 MB unthrottled, 10 MB to 500 MB at
/// 5 Mbps, over 500 MB at 2 Mbps (MB = 10^6 bytes), so large models trickle and small ones
/// (configs, adapters) go at once. `off` (the default, right for a LAN) limits nothing.
/// Encoded as its name.
public enum SizeClassPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// No rate by size.
    case off
    /// The seed's size classes.
    case seed

    /// One class: models of at most `maxBytes` (nil: any larger) go at `rate`.
    public struct SizeClass: Sendable, Hashable {
        /// The largest model of the class, inclusive; nil for the last class.
        public var maxBytes: Int64?
        /// The rate of one transfer of such a model.
        public var rate: ByteRate
    }

    /// The classes, smallest first.
    public var classes: [SizeClass] {
        switch self {
        case .off:
            return [SizeClass(maxBytes: nil, rate: .unlimited)]
        case .seed:
            return [
                SizeClass(maxBytes: 10_000_000 - 1, rate: .unlimited),
                SizeClass(maxBytes: 500_000_000, rate: ByteRate(bytesPerSecond: 5e6 / 8)),
                SizeClass(maxBytes: nil, rate: ByteRate(bytesPerSecond: 2e6 / 8)),
            ]
        }
    }

    /// The class index of a model of `size` bytes (nil: unknown size, never limited).
    public func classIndex(forModelSize size: Int64?) -> Int? {
        guard let size else { return nil }
        return classes.firstIndex { $0.maxBytes.map { size <= $0 } ?? true }
    }

    /// The rate of one transfer of a model of `size` bytes; unlimited for an unknown size.
    public func rate(forModelSize size: Int64?) -> ByteRate {
        classIndex(forModelSize: size).map { classes[$0].rate } ?? .unlimited
    }
}
