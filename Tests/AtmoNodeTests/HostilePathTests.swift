import AtmoNode
import AtmoTesting
import Foundation
import Testing

/// Ids and paths meant to escape the inventory: every one gets a 4xx with a JSON
/// `{"error": ...}` body; never a file's bytes, never a 500. Sent byte-exact with the raw
/// client, so nothing normalises `..` or re-encodes on the way.
struct HostilePathTests {
    /// Percent-encoded or otherwise legal request-targets that are not valid model ids.
    static let hostileIDs: [String] = [
        "..", ".", "%2e%2e", "%2E%2E", "..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "..%5c..%5cetc%5cpasswd", "%00", "tiny.gguf%00", "tiny.gguf%00.txt", "a%01b", "%0d%0aX-Injected:%201", "%7f",
        String(repeating: "a", count: 201), "a%2fb", "%2fetc%2fpasswd", "%C3%A9t%C3%A9", "%E2%80%AE", ".hidden",
        "-rf", "_x", "tiny..gguf", "tiny.gguf%20", "%20tiny.gguf", "~root", "$HOME", "a:b", "a@b", "a%25b",
    ]

    static let prefixes = ["/v1/models/", "/v1/models/download/"]

    @Test(arguments: prefixes)
    func hostileIDsAreRefusedWithJSON(prefix: String) async throws {
        try await withFixtureNode { node, _ in
            for id in Self.hostileIDs {
                let answer = try await RawHTTP.get(port: node.port, prefix + id)
                Self.expectRefused(answer, "\(prefix)\(id)")
            }
            // A HEAD of a hostile download is refused the same way, without a body.
            let head = try await RawHTTP.head(port: node.port, "/v1/models/download/%2e%2e")
            #expect(head.status == 400)
            #expect(head.body.isEmpty)
        }
    }

    @Test func longestValidIDIsOnlyNotFound() async throws {
        try await withFixtureNode { node, _ in
            let answer = try await RawHTTP.get(port: node.port, "/v1/models/" + String(repeating: "a", count: 200))
            #expect(answer.status == 404)
            #expect(answer.json?["error"] as? String == "Model not found")
        }
    }

    /// Paths a normal client would normalise before sending.
    static let traversalPaths: [String] = [
        "/v1/models/download/../../../../etc/passwd",
        "/v1/models/download/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/v1/models/download/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/v1/models/download/tiny.gguf/../../../../etc/passwd",
        "/v1/models/download/./tiny.gguf",
        "/v1/models/../../etc/passwd",
        "/v1/models/download//etc/passwd",
        "/../../../../etc/passwd",
        "//etc/passwd",
        "/v1/models/download/..\\..\\..\\etc\\passwd",
        "http://127.0.0.1/v1/models/download/../../etc/passwd",
        "/v1/models/download/" + String(repeating: "../", count: 300) + "etc/passwd",
    ]

    @Test(arguments: traversalPaths)
    func traversalPathsAreRefusedWithJSON(path: String) async throws {
        try await withFixtureNode { node, _ in
            let answer = try await RawHTTP.get(port: node.port, path)
            Self.expectRefused(answer, path)
        }
    }

    /// Raw bytes a client would percent-encode: NUL, control characters, raw UTF-8, DEL.
    static let rawTargets: [[UInt8]] = [
        Array("/v1/models/".utf8) + [0x00],
        Array("/v1/models/download/tiny.gguf".utf8) + [0x00] + Array(".txt".utf8),
        Array("/v1/models/a".utf8) + [0x01] + Array("b".utf8),
        Array("/v1/models/a".utf8) + [0x1b] + Array("[2J".utf8),
        Array("/v1/models/a".utf8) + [0x7f],
        Array("/v1/models/".utf8) + Array("\u{00e9}t\u{00e9}".utf8),
        Array("/v1/models/download/".utf8) + Array("\u{202e}fdp.gguf".utf8),
        Array("/v1/models/".utf8) + [0xff, 0xfe],
    ]

    @Test(arguments: rawTargets.indices)
    func rawControlAndNonASCIIBytesAreRefusedWithJSON(index: Int) async throws {
        try await withFixtureNode { node, _ in
            let answer = try await RawHTTP.send(port: node.port, RawHTTP.request("GET", Self.rawTargets[index]))
            Self.expectRefused(answer, "raw target \(Self.rawTargets[index])")
        }
    }

    @Test func oversizedRequestLineAndHeadersAreRefusedWithJSON() async throws {
        try await withFixtureNode { node, _ in
            let longTarget = try await RawHTTP.get(port: node.port, "/v1/models/" + String(repeating: "a", count: 100_000))
            Self.expectRefused(longTarget, "100 kB id")
            let longHeader = try await RawHTTP.get(
                port: node.port, "/v1/models/download/tiny.gguf", headers: ["X-Big: " + String(repeating: "b", count: 200_000)])
            Self.expectRefused(longHeader, "200 kB header")
            let manyHeaders = try await RawHTTP.get(
                port: node.port, "/health", headers: (0..<2000).map { "X-H\($0): v" })
            Self.expectRefused(manyHeaders, "2000 headers")
            let badHeaderLine = try await RawHTTP.get(port: node.port, "/health", headers: ["No colon here"])
            Self.expectRefused(badHeaderLine, "header line without a colon")
            let garbage = try await RawHTTP.send(port: node.port, Array("\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\u{00}\r\n\r\n".utf8))
            Self.expectRefused(garbage, "TLS-like garbage")
        }
    }

    /// A 4xx with a JSON error body and none of the bytes of a file it should not serve.
    static func expectRefused(_ answer: RawHTTP.Response, _ what: String) {
        #expect((400..<500).contains(answer.status), "\(what): status \(answer.status)")
        #expect(answer.header("content-type") == "application/json", "\(what)")
        #expect(answer.json?["error"] is String, "\(what): body \(answer.bodyText)")
        #expect(!answer.bodyText.contains("root:"), "\(what)")
        #expect(answer.header("content-disposition") == nil, "\(what)")
    }
}
