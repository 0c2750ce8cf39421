import AtmoStore
import Foundation

/// A byte count in a settings file: a string with a unit (`"50GB"`, `"5 GiB"`, see
/// `ByteCountText.parse`) or a number of bytes.
public struct ByteCountSetting: Sendable, Hashable, Codable {
    public var bytes: Int64

    public init(bytes: Int64) { self.bytes = bytes }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int64.self), number >= 0 {
            bytes = number
        } else if let text = try? container.decode(String.self), let parsed = ByteCountText.parse(text) {
            bytes = parsed
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected a size such as \"50GB\" or a number of bytes")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(bytes)
    }
}
