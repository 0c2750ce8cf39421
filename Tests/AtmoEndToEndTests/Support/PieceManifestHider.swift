import Foundation
import NIOCore

/// What `TCPProxy.Options.hidePieceManifests` does to the bytes it forwards, so that an
/// `atmo serve` of today looks like a node from before piece manifests: one that serves byte
/// ranges of whole files and nothing else.
///
/// - Requests for `/v1/pieces/...` (the manifest, `/have`) are sent on as `/v1/hidden/...`,
///   a path no node serves, so the node itself answers 404 on the same connection.
/// - The `piece_size` and `pieces_sha256` members of JSON answers (catalog entries) are
///   overwritten with spaces, with the comma that separates them: the JSON stays valid and
///   `Content-Length` stays right.
///
/// Both work within one buffer: the small requests and catalog answers of a test arrive
/// whole on loopback.
enum PieceManifestHider {
    static let piecesPath = Array("/v1/pieces/".utf8)
    static let hiddenPath = Array("/v1/hidden/".utf8)
    static let fieldKeys = [Array(#""piece_size":"#.utf8), Array(#""pieces_sha256":"#.utf8)]

    /// Rewrites every request line path starting with `/v1/pieces/` in `buffer`.
    static func rewriteRequests(_ buffer: inout ByteBuffer) {
        var bytes = Array(buffer.readableBytesView)
        var changed = false
        var from = 0
        while let at = find(piecesPath, in: bytes, from: from) {
            // Only a request line's path: `GET /v1/pieces/` or `HEAD /v1/pieces/`.
            if at > 0, bytes[at - 1] == UInt8(ascii: " ") {
                bytes.replaceSubrange(at..<at + hiddenPath.count, with: hiddenPath)
                changed = true
            }
            from = at + piecesPath.count
        }
        if changed { buffer = ByteBuffer(bytes: bytes) }
    }

    /// Blanks the manifest members of any JSON object in `buffer`.
    static func blankManifestFields(_ buffer: inout ByteBuffer) {
        // A download body is megabytes of random bytes: look before copying anything.
        let present = buffer.withUnsafeReadableBytes { raw in
            fieldKeys.contains { key in search(key, in: raw) != nil }
        }
        guard present else { return }
        var bytes = Array(buffer.readableBytesView)
        for key in fieldKeys {
            var from = 0
            while let at = find(key, in: bytes, from: from) {
                from = at + key.count
                guard let valueEnd = endOfValue(in: bytes, from: at + key.count) else { continue }
                var start = at
                var end = valueEnd
                var next = skipSpaces(bytes, from: end)
                if next < bytes.count, bytes[next] == UInt8(ascii: ",") {
                    next += 1
                    end = next
                } else {
                    var before = at - 1
                    while before >= 0, bytes[before] == UInt8(ascii: " ") { before -= 1 }
                    if before >= 0, bytes[before] == UInt8(ascii: ",") { start = before }
                }
                for index in start..<end { bytes[index] = UInt8(ascii: " ") }
            }
        }
        buffer = ByteBuffer(bytes: bytes)
    }

    /// The end of the number or string starting at `from` (after spaces); nil if neither.
    static func endOfValue(in bytes: [UInt8], from: Int) -> Int? {
        var index = skipSpaces(bytes, from: from)
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: "\"") {
            index += 1
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") { index += 1 }
            return index < bytes.count ? index + 1 : nil
        }
        let start = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        return index > start ? index : nil
    }

    static func skipSpaces(_ bytes: [UInt8], from: Int) -> Int {
        var index = from
        while index < bytes.count, bytes[index] == UInt8(ascii: " ") { index += 1 }
        return index
    }

    static func find(_ needle: [UInt8], in bytes: [UInt8], from: Int) -> Int? {
        guard from < bytes.count else { return nil }
        return bytes.withUnsafeBytes { raw in
            search(needle, in: UnsafeRawBufferPointer(rebasing: raw[from...])).map { $0 + from }
        }
    }

    /// The offset of the first `needle` in `raw` (memchr for its first byte, then memcmp).
    static func search(_ needle: [UInt8], in raw: UnsafeRawBufferPointer) -> Int? {
        guard let base = raw.baseAddress, let first = needle.first, raw.count >= needle.count else { return nil }
        var offset = 0
        while offset <= raw.count - needle.count {
            guard let hit = memchr(base + offset, Int32(first), raw.count - needle.count - offset + 1) else { return nil }
            let at = base.distance(to: UnsafeRawPointer(hit))
            if needle.withUnsafeBytes({ memcmp(base + at, $0.baseAddress!, needle.count) }) == 0 { return at }
            offset = at + 1
        }
        return nil
    }
}
