import AtmoNode
import AtmoTesting
import Foundation
import Testing

/// `GET`/`HEAD /v1/models/download/{id}`: whole files, single ranges, `If-Range`.
struct DownloadRangeTests {
    static let path = "/v1/models/download/" + NodeFixture.tinyID
    static let size = NodeFixture.tinySize

    @Test func fullDownloadHasHeadersAndExactBytes() async throws {
        try await withFixtureNode { node, fixture in
            let answer = try await Client.get(node.baseURL + Self.path)
            let sha256 = try ModelFixtures.sha256(of: fixture.path(NodeFixture.tinyID))
            #expect(answer.status == 200)
            #expect(answer.header("Content-Length") == String(Self.size))
            #expect(answer.header("Accept-Ranges") == "bytes")
            #expect(answer.header("ETag") == "\"\(sha256)\"")
            #expect(answer.header("Content-Type") == "application/octet-stream")
            #expect(answer.header("Content-Disposition") == #"attachment; filename="tiny.gguf""#)
            #expect(answer.header("Content-Range") == nil)
            #expect(answer.body == (try fixture.bytes(NodeFixture.tinyID)))
        }
    }

    @Test func downloadNameGetsTheFormatAppended() async throws {
        try await withFixtureNode { node, fixture in
            let answer = try await RawHTTP.get(port: node.port, "/v1/models/download/" + NodeFixture.weightsID)
            #expect(answer.status == 200)
            #expect(answer.header("content-disposition") == #"attachment; filename="weights.gguf""#)
            #expect(answer.body == (try fixture.bytes(NodeFixture.weightsID)))
        }
    }

    /// (Range header, expected first byte, expected length) for every satisfiable kind.
    static let partialCases: [(range: String, offset: Int, length: Int)] = [
        ("bytes=0-99", 0, 100),
        ("bytes=100-", 100, size - 100),
        ("bytes=-500", size - 500, 500),
        ("bytes=-20000", 0, size),  // suffix larger than the file: all of it
        ("bytes=9990-20000", 9990, 10),  // end past the size: clamped
        ("bytes=\(size - 1)-", size - 1, 1),
        ("bytes=5-5", 5, 1),
        ("Bytes=0-9", 0, 10),
    ]

    @Test(arguments: partialCases)
    func satisfiableRangeGives206(range: String, offset: Int, length: Int) async throws {
        try await withFixtureNode { node, fixture in
            let all = try fixture.bytes(NodeFixture.tinyID)
            let answer = try await RawHTTP.get(port: node.port, Self.path, headers: ["Range: \(range)"])
            #expect(answer.status == 206, "\(range)")
            #expect(answer.header("content-length") == String(length))
            #expect(answer.header("content-range") == "bytes \(offset)-\(offset + length - 1)/\(Self.size)")
            #expect(answer.header("accept-ranges") == "bytes")
            #expect(answer.header("etag")?.hasPrefix("\"") == true)
            #expect(answer.body == Array(all[offset..<(offset + length)]))

            // HEAD: the same status and headers, no body.
            let head = try await RawHTTP.head(port: node.port, Self.path, headers: ["Range: \(range)"])
            #expect(head.status == 206)
            #expect(head.header("content-length") == String(length))
            #expect(head.header("content-range") == answer.header("content-range"))
            #expect(head.body.isEmpty)
        }
    }

    @Test(arguments: ["bytes=\(size)-", "bytes=\(size)-\(size + 10)", "bytes=20000-", "bytes=-0", "bytes=99999999999999999999-"])
    func unsatisfiableRangeGives416(range: String) async throws {
        try await withFixtureNode { node, _ in
            let answer = try await RawHTTP.get(port: node.port, Self.path, headers: ["Range: \(range)"])
            #expect(answer.status == 416, "\(range)")
            #expect(answer.header("content-range") == "bytes */\(Self.size)")
            #expect(answer.json?["error"] is String)

            let head = try await RawHTTP.head(port: node.port, Self.path, headers: ["Range: \(range)"])
            #expect(head.status == 416)
            #expect(head.header("content-range") == "bytes */\(Self.size)")
        }
    }

    /// Invalid syntax, other units and several ranges: the whole file with 200.
    @Test(arguments: [
        "bytes=abc", "bytes=5-2", "items=0-1", "bytes=0-1,5-6", "bytes=0-1, 3-4", "bytes=", "bytes=-", "bytes=--1",
        "bytes=1-2-3", "bytes=+1-2", "bytes=\u{00e9}-1", "bytes=0x10-",
    ])
    func invalidOrMultipleRangesGiveTheWholeFile(range: String) async throws {
        try await withFixtureNode { node, fixture in
            let answer = try await RawHTTP.get(port: node.port, Self.path, headers: ["Range: \(range)"])
            #expect(answer.status == 200, "\(range)")
            #expect(answer.header("content-length") == String(Self.size))
            #expect(answer.header("content-range") == nil)
            #expect(answer.body == (try fixture.bytes(NodeFixture.tinyID)))
        }
    }

    @Test func ifRangeWithTheCurrentETagGivesThePart() async throws {
        try await withFixtureNode { node, fixture in
            let etag = "\"\(try ModelFixtures.sha256(of: fixture.path(NodeFixture.tinyID)))\""
            let answer = try await RawHTTP.get(
                port: node.port, Self.path, headers: ["Range: bytes=100-199", "If-Range: \(etag)"])
            #expect(answer.status == 206)
            #expect(answer.header("content-range") == "bytes 100-199/\(Self.size)")
            #expect(answer.body == Array(try fixture.bytes(NodeFixture.tinyID)[100..<200]))
        }
    }

    @Test(arguments: [
        "\"0000000000000000000000000000000000000000000000000000000000000000\"", "W/\"abc\"",
        "Tue, 15 Nov 1994 08:12:31 GMT", "garbage",
    ])
    func ifRangeWithAnotherValidatorGivesTheWholeFile(ifRange: String) async throws {
        try await withFixtureNode { node, fixture in
            let answer = try await RawHTTP.get(
                port: node.port, Self.path, headers: ["Range: bytes=100-199", "If-Range: \(ifRange)"])
            #expect(answer.status == 200)
            #expect(answer.header("content-range") == nil)
            #expect(answer.body == (try fixture.bytes(NodeFixture.tinyID)))
        }
    }

    @Test func withoutRangeNeverPartial() async throws {
        try await withFixtureNode { node, fixture in
            let etag = "\"\(try ModelFixtures.sha256(of: fixture.path(NodeFixture.tinyID)))\""
            for headers in [[], ["If-Range: \(etag)"], ["X-Range: bytes=0-1"]] {
                let answer = try await RawHTTP.get(port: node.port, Self.path, headers: headers)
                #expect(answer.status == 200, "\(headers)")
                #expect(answer.body.count == Self.size)
            }
        }
    }

    /// Two `Range` fields are several ranges: the whole file.
    @Test func repeatedRangeHeadersGiveTheWholeFile() async throws {
        try await withFixtureNode { node, _ in
            let answer = try await RawHTTP.get(port: node.port, Self.path, headers: ["Range: bytes=0-9", "Range: bytes=20-29"])
            #expect(answer.status == 200)
            #expect(answer.body.count == Self.size)
        }
    }

    @Test func headOfFullDownload() async throws {
        try await withFixtureNode { node, fixture in
            let head = try await RawHTTP.head(port: node.port, Self.path)
            let sha256 = try ModelFixtures.sha256(of: fixture.path(NodeFixture.tinyID))
            #expect(head.status == 200)
            #expect(head.header("content-length") == String(Self.size))
            #expect(head.header("accept-ranges") == "bytes")
            #expect(head.header("etag") == "\"\(sha256)\"")
            #expect(head.header("content-disposition") == #"attachment; filename="tiny.gguf""#)
            #expect(head.body.isEmpty)
            // No bytes were served for HEAD.
            #expect(node.node.ledger.snapshot.bytesServed == 0)
        }
    }

    /// HEAD then GET on one keep-alive connection: the HEAD answer must be complete (no body,
    /// framing ended) for the GET answer to arrive and parse.
    @Test func headThenGetOnOneConnection() async throws {
        try await withFixtureNode { node, fixture in
            let bytes =
                RawHTTP.request("HEAD", Self.path, keepAlive: true)
                + RawHTTP.request("GET", Self.path, headers: ["Range: bytes=0-9"], keepAlive: true)
                + RawHTTP.request("GET", "/health")
            let answers = try await RawHTTP.sendPipelined(port: node.port, bytes, methods: ["HEAD", "GET", "GET"])
            #expect(answers.map(\.status) == [200, 206, 200])
            #expect(answers[1].body == Array(try fixture.bytes(NodeFixture.tinyID)[0..<10]))
            #expect(answers[2].json?["status"] as? String == "ok")
        }
    }
}
