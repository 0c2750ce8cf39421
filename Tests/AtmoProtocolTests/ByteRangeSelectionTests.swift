import Testing

@testable import AtmoProtocol

/// `ByteRangeSelection.select` against RFC 9110 §14 and the older server's defects.
struct ByteRangeSelectionTests {
    /// One `Range` header on a file of `size` bytes and the expected answer.
    struct Case: Sendable, CustomTestStringConvertible {
        var range: String?
        var size: Int64
        var expected: ByteRangeSelection
        init(_ range: String?, size: Int64 = 1000, _ expected: ByteRangeSelection) {
            self.range = range
            self.size = size
            self.expected = expected
        }
        var testDescription: String { "\(range.map { "'\($0)'" } ?? "no Range") on \(size) bytes" }
    }

    static let satisfiable: [Case] = [
        Case(nil, .full),
        Case("bytes=0-99", .partial(offset: 0, length: 100)),
        Case("bytes=0-0", .partial(offset: 0, length: 1)),
        Case("bytes=999-999", .partial(offset: 999, length: 1)),
        Case("bytes=100-", .partial(offset: 100, length: 900)),
        Case("bytes=0-", .partial(offset: 0, length: 1000)),
        Case("bytes=-500", .partial(offset: 500, length: 500)),
        Case("bytes=-1", .partial(offset: 999, length: 1)),
        // A suffix longer than the file is the whole file, as a 206.
        Case("bytes=-5000", .partial(offset: 0, length: 1000)),
        // The end is clamped to the size (the older server sent a too-large Content-Length).
        Case("bytes=500-5000", .partial(offset: 500, length: 500)),
        Case("bytes=0-999999999999999999", .partial(offset: 0, length: 1000)),
        // Positions longer than 18 digits are numbers too (RFC 9110 `1*DIGIT`): clamped, as nginx does.
        Case("bytes=0-9223372036854775807", .partial(offset: 0, length: 1000)),
        Case("bytes=0-9223372036854775808", .partial(offset: 0, length: 1000)),
        Case("bytes=0-99999999999999999999", .partial(offset: 0, length: 1000)),
        Case("bytes=10-" + String(repeating: "9", count: 200), .partial(offset: 10, length: 990)),
        Case("bytes=-99999999999999999999", .partial(offset: 0, length: 1000)),
        Case("bytes=-9223372036854775807", .partial(offset: 0, length: 1000)),
        Case("bytes=0000000000000000000000000001-0000000000000000000000000005", .partial(offset: 1, length: 5)),
        Case("bytes=999-99999999999999999999", size: 1000, .partial(offset: 999, length: 1)),
        Case("bytes=0-99", size: 1, .partial(offset: 0, length: 1)),
        // Range unit is case-insensitive; optional whitespace around the value and the range.
        Case("BYTES=0-99", .partial(offset: 0, length: 100)),
        Case("Bytes=0-99", .partial(offset: 0, length: 100)),
        Case("  bytes=0-99  ", .partial(offset: 0, length: 100)),
        Case("\tbytes=0-99\t", .partial(offset: 0, length: 100)),
        Case("bytes= 0-99", .partial(offset: 0, length: 100)),
        Case("bytes=0-99 ", .partial(offset: 0, length: 100)),
    ]

    static let unsatisfiable: [Case] = [
        Case("bytes=-0", .unsatisfiable),
        Case("bytes=1000-", .unsatisfiable),
        Case("bytes=1000-1000", .unsatisfiable),
        Case("bytes=1001-2000", .unsatisfiable),
        Case("bytes=5000-", .unsatisfiable),
        // A start beyond Int64 is past the end of every file.
        Case("bytes=9223372036854775807-", .unsatisfiable),
        Case("bytes=99999999999999999999-", .unsatisfiable),
        Case("bytes=99999999999999999999-99999999999999999999", .unsatisfiable),
        Case("bytes=9223372036854775808-99999999999999999999", .unsatisfiable),
        // An empty file has no satisfiable range at all.
        Case("bytes=0-", size: 0, .unsatisfiable),
        Case("bytes=0-0", size: 0, .unsatisfiable),
        Case("bytes=-1", size: 0, .unsatisfiable),
        Case("bytes=-500", size: 0, .unsatisfiable),
    ]

    /// Invalid or unsupported headers are ignored: 200 with the whole file, never a 500.
    static let ignored: [Case] = [
        Case("bytes=99-0", .full),
        Case("bytes=100-99", .full),
        Case("bytes=a-b", .full),
        Case("bytes=1-b", .full),
        Case("bytes=-", .full),
        Case("bytes=", .full),
        Case("bytes", .full),
        Case("", .full),
        Case("=0-1", .full),
        Case("bytes=--5", .full),
        Case("bytes=1-2-3", .full),
        Case("bytes=+1-2", .full),
        Case("bytes=-+5", .full),
        Case("bytes=0x10-0x20", .full),
        Case("bytes=1.5-2", .full),
        Case("bytes=１-２", .full),
        Case("items=0-1", .full),
        Case("bytes 0-1", .full),
        Case("bytes=0-1,5-6", .full),
        Case("bytes=0-1, 5-6", .full),
        Case("bytes=0-1,", .full),
        Case("bytes=-1,-2", .full),
        Case("bytes = 0-1", .full),
        // The end before the start, told apart exactly even beyond Int64.
        Case("bytes=99999999999999999999-99999999999999999998", .full),
        Case("bytes=99999999999999999999-9223372036854775807", .full),
        Case("bytes=" + String(repeating: "0", count: 300) + "-1", .full),
        Case("bytes=a-b", size: 0, .full),
    ]

    @Test(arguments: satisfiable + unsatisfiable + ignored)
    func selects(_ test: Case) {
        #expect(ByteRangeSelection.select(range: test.range, size: test.size) == test.expected)
    }

    @Test(arguments: satisfiable + unsatisfiable)
    func partialRangesStayInsideTheFile(_ test: Case) {
        guard case .partial(let offset, let length) = ByteRangeSelection.select(range: test.range, size: test.size) else { return }
        #expect(offset >= 0 && length >= 1 && offset + length <= test.size)
    }

    static let etag = ByteRangeHeaders.etag(sha256: Fixtures.sha)

    @Test func ifRangeMatchingTheStrongETagKeepsTheRange() {
        #expect(
            ByteRangeSelection.select(range: "bytes=100-", ifRange: Self.etag, etag: Self.etag, size: 1000)
                == .partial(offset: 100, length: 900))
        #expect(
            ByteRangeSelection.select(range: "bytes=100-", ifRange: " \(Self.etag) ", etag: Self.etag, size: 1000)
                == .partial(offset: 100, length: 900))
        // A matching If-Range does not rescue an unsatisfiable range.
        #expect(ByteRangeSelection.select(range: "bytes=1000-", ifRange: Self.etag, etag: Self.etag, size: 1000) == .unsatisfiable)
    }

    @Test(arguments: [
        "\"\(Fixtures.shaABC)\"", "W/\(etag)", Fixtures.sha, "Wed, 21 Oct 2015 07:28:00 GMT", "", "*", "\"\"", "\(etag), \(etag)",
    ])
    func ifRangeNotMatchingSendsEverything(_ ifRange: String) {
        #expect(ByteRangeSelection.select(range: "bytes=100-", ifRange: ifRange, etag: Self.etag, size: 1000) == .full)
    }

    @Test func ifRangeWithoutACurrentETagSendsEverything() {
        #expect(ByteRangeSelection.select(range: "bytes=100-", ifRange: Self.etag, etag: nil, size: 1000) == .full)
    }

    @Test func weakCurrentETagNeverValidates() {
        let weak = "W/\(Self.etag)"
        #expect(ByteRangeSelection.select(range: "bytes=100-", ifRange: weak, etag: weak, size: 1000) == .full)
    }

    @Test func ifRangeWithoutRangeIsIgnored() {
        #expect(ByteRangeSelection.select(range: nil, ifRange: Self.etag, etag: Self.etag, size: 1000) == .full)
    }

    @Test func etagIsTheQuotedHash() {
        #expect(Self.etag == "\"\(Fixtures.sha)\"")
    }
}
