import NIOCore

/// The request heads of a raw test server's connection (no bodies), split off as bytes come,
/// and the single byte range a head asks for.
struct RangeRequestHeads {
    private var pending = ""

    /// The complete heads in `buffer` and what came before it, in order.
    mutating func take(_ buffer: inout ByteBuffer) -> [String] {
        pending += buffer.readString(length: buffer.readableBytes) ?? ""
        var heads: [String] = []
        while let end = pending.range(of: "\r\n\r\n") {
            heads.append(String(pending[..<end.lowerBound]))
            pending = String(pending[end.upperBound...])
        }
        return heads
    }

    /// The first and last byte `head`'s `Range: bytes=a-b` names in a file of `size` bytes
    /// (the whole file without one).
    static func range(in head: String, size: Int64) -> (first: Int64, last: Int64) {
        var (first, last) = (Int64(0), size - 1)
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("range: bytes=") {
            let spec = line.dropFirst("range: bytes=".count).split(separator: "-")
            if spec.count == 2, let a = Int64(spec[0]), let b = Int64(spec[1]) { (first, last) = (a, min(b, size - 1)) }
        }
        return (first, last)
    }
}
