import Foundation

/// Bounds how deeply a JSON text nests, before a decoder sees it.
///
/// Foundation's `JSONDecoder` refuses a whole document nested more than 512 levels, so one
/// catalog entry with deep `metadata` would make the whole catalog (or bundle) unreadable.
/// This guard scans the raw bytes once (strings and escapes respected, no allocation when
/// the text is within the bound) and replaces every array or object that opens deeper than
/// `WireLimits.maxJSONDepth` with a marker string. Decoding a `JSONValue` that holds the
/// marker fails with `too_large`, so only the entry (or catalog) carrying it is refused:
/// decoding stays lossy per entry.
enum JSONDepthGuard {
    /// The string that stands for a cut-off value. Decoding it as a `JSONValue` throws.
    static let marker = "\u{0}atmo:nested-too-deep\u{0}"
    /// Set to `true` in a decoder's `userInfo` to keep a marker as a plain string instead of
    /// failing: a relay frame carries a catalog in its envelope, and the cut-off entry must
    /// fail only later, when the catalog itself is decoded (`RelayCoding`).
    static let keepMarkers = CodingUserInfoKey(rawValue: "atmo.keep-depth-markers")!
    /// `marker` as JSON text, with its quotes.
    static let encodedMarker = Array(#""\u0000atmo:nested-too-deep\u0000""#.utf8)

    /// `data`, unchanged when it nests at most `maxDepth` levels; otherwise a copy in which
    /// each array or object opening below `maxDepth` is replaced by the marker. Malformed
    /// input is returned as it is (or cut the same way): the decoder reports it.
    static func bounded(_ data: Data, maxDepth: Int = WireLimits.maxJSONDepth) -> Data {
        guard let first = firstTooDeep(data, maxDepth: maxDepth) else { return data }
        return data.withUnsafeBytes { raw -> Data in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return data }
            let bytes = UnsafeBufferPointer(start: base, count: raw.count)
            var output = Data(capacity: bytes.count)
            var copied = 0
            // The scan above found the prefix within bounds: carry on from its first cut,
            // where the enclosing depth is `maxDepth` (not re-reading the prefix).
            var depth = maxDepth
            var index = first
            while index < bytes.count {
                switch bytes[index] {
                case quote:
                    index = endOfString(bytes, from: index + 1)
                    continue
                case openBrace, openBracket:
                    depth += 1
                    if depth > maxDepth {
                        output.append(UnsafeBufferPointer(rebasing: bytes[copied..<index]))
                        output.append(contentsOf: encodedMarker)
                        index = endOfContainer(bytes, from: index + 1)
                        copied = index
                        depth -= 1
                        continue
                    }
                case closeBrace, closeBracket:
                    depth -= 1
                default:
                    break
                }
                index += 1
            }
            output.append(UnsafeBufferPointer(rebasing: bytes[copied..<bytes.count]))
            return output
        }
    }

    /// Where the first container deeper than `maxDepth` opens; nil when none does.
    static func firstTooDeep(_ data: Data, maxDepth: Int) -> Int? {
        data.withUnsafeBytes { raw -> Int? in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
            let bytes = UnsafeBufferPointer(start: base, count: raw.count)
            var depth = 0
            var index = 0
            while index < bytes.count {
                switch bytes[index] {
                case quote:
                    index = endOfString(bytes, from: index + 1)
                    continue
                case openBrace, openBracket:
                    depth += 1
                    if depth > maxDepth { return index }
                case closeBrace, closeBracket:
                    depth -= 1
                default:
                    break
                }
                index += 1
            }
            return nil
        }
    }

    private static let quote = UInt8(ascii: "\"")
    private static let backslash = UInt8(ascii: "\\")
    private static let openBrace = UInt8(ascii: "{")
    private static let openBracket = UInt8(ascii: "[")
    private static let closeBrace = UInt8(ascii: "}")
    private static let closeBracket = UInt8(ascii: "]")

    /// The index after the closing quote of the string whose content starts at `start`
    /// (the end of the text when it is not closed). Runs of text are skipped with `memchr`,
    /// so long strings cost little even in a debug build.
    static func endOfString(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        guard let base = bytes.baseAddress else { return bytes.count }
        var index = start
        while index < bytes.count {
            guard let found = memchr(base + index, Int32(quote), bytes.count - index) else { return bytes.count }
            let position = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            var backslashes = 0
            while position - backslashes - 1 >= index, bytes[position - backslashes - 1] == backslash { backslashes += 1 }
            if backslashes % 2 == 0 { return position + 1 }
            index = position + 1
        }
        return bytes.count
    }

    /// The index after the bracket closing the container whose content starts at `start`.
    static func endOfContainer(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var depth = 1
        var index = start
        while index < bytes.count {
            switch bytes[index] {
            case quote:
                index = endOfString(bytes, from: index + 1)
                continue
            case openBrace, openBracket:
                depth += 1
            case closeBrace, closeBracket:
                depth -= 1
                if depth == 0 { return index + 1 }
            default:
                break
            }
            index += 1
        }
        return bytes.count
    }
}
