import Foundation

/// A transfer rate in bytes per second, or unlimited, as people write it: `20MB/s`,
/// `1.5GiB/s`, `500KB/s`, `5Mbps`, `800kbit/s`, `1048576` (bytes per second), `unlimited`.
///
/// Units: `B`, `KB`/`kB`, `MB`, `GB` are powers of 1000, `KiB`, `MiB`, `GiB` of 1024, each
/// per second (`/s` may be left out); `bps`, `kbps`/`Kbps`, `Mbps`, `Gbps` (and `kbit/s`,
/// `Mbit/s`, `Gbit/s`) are bits per second. Case matters only for `b` (bit) against `B`
/// (byte) in the short bit forms; `unlimited`, `none`, `off`, `0` mean no limit. Encoded in
/// JSON as its text (`"20MB/s"`), or a number of bytes per second.
public struct ByteRate: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Bytes per second; nil: unlimited.
    public var bytesPerSecond: Double?

    /// No limit.
    public static let unlimited = ByteRate(bytesPerSecond: nil)

    /// `bytesPerSecond` bytes per second (nil, 0 or less: unlimited).
    public init(bytesPerSecond: Double?) {
        if let value = bytesPerSecond, value.isFinite, value > 0 {
            self.bytesPerSecond = value
        } else {
            self.bytesPerSecond = nil
        }
    }

    /// Whether this is no limit.
    public var isUnlimited: Bool { bytesPerSecond == nil }

    /// Parses `text`; nil when it is not a rate.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if ["unlimited", "none", "off", "0"].contains(trimmed.lowercased()) {
            self = .unlimited
            return
        }
        let numberEnd = trimmed.firstIndex { !($0.isNumber || $0 == ".") } ?? trimmed.endIndex
        guard let number = Double(trimmed[..<numberEnd]), number.isFinite, number >= 0 else { return nil }
        var unit = trimmed[numberEnd...].trimmingCharacters(in: .whitespaces)
        if unit.hasSuffix("/s") { unit.removeLast(2) }
        guard let factor = Self.factor(ofUnit: unit) else { return nil }
        let value = number * factor
        guard value.isFinite, value < 1e15 else { return nil }
        self.init(bytesPerSecond: value)
    }

    /// Bytes per second for one of `unit` (without `/s`).
    private static func factor(ofUnit unit: String) -> Double? {
        switch unit {
        case "": return 1
        case "bps", "bit": return 1.0 / 8
        case "kbps", "Kbps", "kbit", "Kbit": return 1e3 / 8
        case "Mbps", "mbps", "Mbit", "mbit": return 1e6 / 8
        case "Gbps", "gbps", "Gbit", "gbit": return 1e9 / 8
        default: break
        }
        switch unit.lowercased() {
        case "b": return 1
        case "kb", "k": return 1e3
        case "mb", "m": return 1e6
        case "gb", "g": return 1e9
        case "kib": return 1024
        case "mib": return 1024 * 1024
        case "gib": return 1024 * 1024 * 1024
        default: return nil
        }
    }

    /// `unlimited`, or the rate in the largest decimal unit that keeps it at 1 or more, with
    /// at most three decimals: `20MB/s`, `625KB/s`, `1.5GB/s`, `512B/s`.
    public var description: String {
        guard let value = bytesPerSecond else { return "unlimited" }
        let units: [(Double, String)] = [(1e9, "GB/s"), (1e6, "MB/s"), (1e3, "KB/s")]
        let (scale, unit) = units.first { value >= $0.0 } ?? (1, "B/s")
        var text = String(format: "%.3f", value / scale)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text + unit
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .unlimited
        } else if let number = try? container.decode(Double.self) {
            guard number >= 0 else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "a rate cannot be negative")
            }
            self.init(bytesPerSecond: number)
        } else {
            let text = try container.decode(String.self)
            guard let rate = ByteRate(parsing: text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "'\(text)' is not a rate (e.g. 20MB/s, 5Mbps, unlimited)")
            }
            self = rate
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
