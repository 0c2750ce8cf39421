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
    /// `marker` as JSON text, with its quotes.
    static let encodedMarker = Array(#""\u0000atmo:nested-too-deep\u0000""#.utf8)

    /// `data`, unchanged when it nests at most `maxDepth` levels; otherwise a copy in which
    /// each array or object opening below `maxDepth` is replaced by the marker. Malformed
    /// input is returned as it is (or cut the same way): the decoder reports it.
    static func bounded(_ data: Data, maxDepth: Int = WireLimits.maxJSONDepth) -> Data {
        guard firstTooDeep(data, maxDepth: maxDepth) != nil else { return data }
        return data.withUnsafeBytes { raw -> Data in
            let bytes = raw.bindMemory(to: UInt8.self)
            var output = Data(capacity: bytes.count)
            var scanner = Scanner()
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                if scanner.step(byte) == .opened, scanner.depth > maxDepth {
                    output.append(contentsOf: encodedMarker)
                    index = skipContainer(bytes, from: index + 1, scanner: &scanner)
                    continue
                }
                output.append(byte)
                index += 1
            }
            return output
        }
    }

    /// Where the first container deeper than `maxDepth` opens; nil when none does.
    static func firstTooDeep(_ data: Data, maxDepth: Int) -> Int? {
        data.withUnsafeBytes { raw -> Int? in
            var scanner = Scanner()
            for (index, byte) in raw.enumerated() where scanner.step(byte) == .opened && scanner.depth > maxDepth {
                return index
            }
            return nil
        }
    }

    /// Skips the rest of the container just opened (the scanner is inside it) and returns
    /// the index after its closing bracket (or the end of a truncated text).
    private static func skipContainer(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, scanner: inout Scanner) -> Int {
        let outside = scanner.depth - 1
        var index = start
        while index < bytes.count {
            _ = scanner.step(bytes[index])
            index += 1
            if scanner.depth == outside { return index }
        }
        return index
    }

    /// The lexical state of a JSON text: inside a string or not, and the nesting depth.
    struct Scanner {
        enum Change { case none, opened, closed }
        var depth = 0
        var inString = false
        var escaped = false

        mutating func step(_ byte: UInt8) -> Change {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                return .none
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
                return .none
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                return .opened
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                return .closed
            default:
                return .none
            }
        }
    }
}
