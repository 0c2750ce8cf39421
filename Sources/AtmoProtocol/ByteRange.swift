/// What to send for a `Range` request on a file of a known size (RFC 9110 §14).
///
/// Pure logic shared by the provider's download route and its tests:
/// - no `Range`, a syntactically invalid one, a non-`bytes` unit, or several ranges: the
///   whole file with 200 (ignoring a Range header is always allowed, and one body is cheaper
///   than multipart for a client that asked for several);
/// - `a-b`, `a-`, `-n`: one range, the end clamped to the size, 206; positions have any
///   number of digits (RFC 9110's `1*DIGIT`), so `bytes=0-9223372036854775807` or a longer
///   end is the rest of the file, as nginx answers it;
/// - a range that starts at or past the end (a start beyond Int64 included, or `-0`, or
///   any range of an empty file): 416 with `Content-Range: bytes */SIZE`;
/// - `If-Range` that does not match the current strong ETag: the whole file with 200, so a
///   changed file is never spliced onto an old partial.
public enum ByteRangeSelection: Sendable, Hashable {
    /// The whole file, 200.
    case full
    /// `offset` and `length` of the bytes to send; `length` >= 1.
    case partial(offset: Int64, length: Int64)
    /// Nothing: 416 with `ByteRangeHeaders.unsatisfiable(size:)`.
    case unsatisfiable

    /// Decides what to send. `ifRange` is the raw `If-Range` header; `etag` the current
    /// strong ETag including its quotes.
    public static func select(range: String?, ifRange: String? = nil, etag: String? = nil, size: Int64) -> ByteRangeSelection {
        guard let range else { return .full }
        if let ifRange {
            // Only a strong ETag can validate; a date or a weak tag means "send it all".
            let candidate = ifRange.trimmingSpaces()
            guard let etag, !candidate.hasPrefix("W/"), candidate == etag else { return .full }
        }
        guard let spec = parse(range) else { return .full }
        return resolve(spec, size: size)
    }

    /// One syntactically valid range spec.
    enum Spec: Equatable {
        case fromTo(Int64, Int64)
        case from(Int64)
        case suffix(Int64)
    }

    /// Parses `bytes=a-b` / `bytes=a-` / `bytes=-n`. Nil for anything else, including
    /// several ranges and `b < a` (both invalid or unsupported: the caller serves it all).
    static func parse(_ header: String) -> Spec? {
        let trimmed = header.trimmingSpaces()
        guard trimmed.count <= 256 else { return nil }
        let lower = trimmed.lowercased()
        guard lower.hasPrefix("bytes=") else { return nil }
        let set = lower.dropFirst("bytes=".count).trimmingSpaces()
        guard !set.contains(",") else { return nil }
        let parts = set.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let first = parts[0].trimmingSpaces()
        let last = parts[1].trimmingSpaces()
        switch (first.isEmpty, last.isEmpty) {
        case (true, true):
            return nil
        case (true, false):
            guard let count = parsePosition(last) else { return nil }
            return .suffix(count)
        case (false, true):
            guard let start = parsePosition(first) else { return nil }
            return .from(start)
        case (false, false):
            guard let start = parsePosition(first), let end = parsePosition(last), !isLess(last, than: first) else { return nil }
            return .fromTo(start, end)
        }
    }

    /// A position or suffix length of a range spec: digits only, any number of them; a value
    /// beyond Int64 saturates at `Int64.max` (no file is that large, so a start there is
    /// unsatisfiable and an end or suffix there means "to the end of the file").
    static func parsePosition<S: StringProtocol>(_ text: S) -> Int64? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        var value: Int64 = 0
        for digit in text.utf8 {
            let (times10, overflowed) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowedAgain) = times10.addingReportingOverflow(Int64(digit - 48))
            guard !overflowed, !overflowedAgain else { return .max }
            value = sum
        }
        return value
    }

    /// Whether the digit string `a` is a smaller number than `b`, exactly (saturated values
    /// cannot tell two huge positions apart).
    static func isLess<S: StringProtocol>(_ a: S, than b: S) -> Bool {
        let a = a.drop { $0 == "0" }
        let b = b.drop { $0 == "0" }
        if a.count != b.count { return a.count < b.count }
        return a.lexicographicallyPrecedes(b)
    }

    static func resolve(_ spec: Spec, size: Int64) -> ByteRangeSelection {
        switch spec {
        case .fromTo(let start, let end):
            guard start < size else { return .unsatisfiable }
            return .partial(offset: start, length: min(end, size - 1) - start + 1)
        case .from(let start):
            guard start < size else { return .unsatisfiable }
            return .partial(offset: start, length: size - start)
        case .suffix(let count):
            guard count > 0, size > 0 else { return .unsatisfiable }
            let length = min(count, size)
            return .partial(offset: size - length, length: length)
        }
    }

    /// Digits only, at most 18 of them (no overflow, no signs, no spaces inside).
    static func parseDigits<S: StringProtocol>(_ text: S) -> Int64? {
        guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int64(text)
    }
}

/// Builders for the range-related response headers.
public enum ByteRangeHeaders {
    /// `bytes a-b/size`.
    public static func contentRange(offset: Int64, length: Int64, size: Int64) -> String {
        "bytes \(offset)-\(offset + length - 1)/\(size)"
    }

    /// `bytes */size`, for 416.
    public static func unsatisfiable(size: Int64) -> String { "bytes */\(size)" }

    /// The strong ETag of a file: its SHA-256 in quotes.
    public static func etag(sha256: String) -> String { "\"\(sha256)\"" }

    /// Parses a `Content-Range: bytes a-b/size` answer; nil when malformed.
    public static func parseContentRange(_ header: String) -> (first: Int64, last: Int64, size: Int64)? {
        let text = header.trimmingSpaces().lowercased()
        guard text.hasPrefix("bytes ") else { return nil }
        let rest = text.dropFirst("bytes ".count)
        // Empty pieces must stay: `-1-99` is not `1-99`.
        let halves = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard halves.count == 2, let size = ByteRangeSelection.parseDigits(halves[1]) else { return nil }
        let bounds = halves[0].split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard bounds.count == 2, let first = ByteRangeSelection.parseDigits(bounds[0]),
            let last = ByteRangeSelection.parseDigits(bounds[1]), first <= last, last < size
        else { return nil }
        return (first, last, size)
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
