import AtmoNode
import AtmoTesting
import Foundation
import Testing

/// The protocol edges of issue 9 (items 6, 7, 8 and 10) on the node, sent byte-exact on raw
/// sockets: every answer is HTTP/1.1 with a status, never an empty reply or a 500.
struct ProtocolEdgeTests {
    static let h2cHeaders = ["Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA"]

    @Test func anUpgradeOtherThanWebSocketIsAnsweredAsHTTP11() async throws {
        try await withFixtureNode { node, _ in
            let answer = try await RawHTTP.send(
                port: node.port, RawHTTP.request("GET", "/health", headers: Self.h2cHeaders, keepAlive: true), timeout: 10)
            #expect(answer.status == 200)
            #expect(answer.json?["status"] as? String == "ok")
            #expect(answer.header("upgrade") == nil)
            // A POST with a body and an h2c upgrade is answered too (here: refused for its body).
            let post = try await RawHTTP.send(
                port: node.port, RawHTTP.request("POST", "/v1/transfers", headers: Self.h2cHeaders, body: Array("{}".utf8)),
                timeout: 10)
            #expect(post.status == 400)
        }
    }

    @Test func curlWithHTTP2IsAnsweredAsHTTP11() async throws {
        let curl = "/usr/bin/curl"
        guard FileManager.default.isExecutableFile(atPath: curl) else { return }
        try await withFixtureNode { node, _ in
            let output = try await RawHTTP.blocking { () -> String in
                let process = Process()
                process.executableURL = URL(fileURLWithPath: curl)
                process.arguments = ["-s", "-m", "10", "--http2", "http://127.0.0.1:\(node.port)/health"]
                let pipe = Pipe()
                process.standardOutput = pipe
                try process.run()
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                return String(decoding: data, as: UTF8.self)
            }
            #expect(output.contains(#""status":"ok""#))
        }
    }

    @Test(arguments: [
        // A chunk size that is not hex, the repro of the issue.
        "Transfer-Encoding: chunked\r\n\r\nzz\r\n",
        // A chunk longer than it said.
        "Transfer-Encoding: chunked\r\n\r\n2\r\nabcdef\r\n0\r\n\r\n",
        // Codings the node does not know.
        "Transfer-Encoding: gzip\r\n\r\nzz\r\n",
        "Transfer-Encoding: chunked, gzip\r\n\r\nzz\r\n",
    ])
    func malformedBodiesAreTheClientsFault(tail: String) async throws {
        try await withFixtureNode { node, _ in
            let bytes = Array("POST /v1/transfers HTTP/1.1\r\nHost: x\r\n\(tail)".utf8)
            let answer = try await RawHTTP.send(port: node.port, bytes, timeout: 10)
            #expect(answer.status == 400)
            #expect(answer.json?["error"] is String)
        }
    }

    @Test func anUnknownCodingBeforeChunkedIsNotImplemented() async throws {
        try await withFixtureNode { node, _ in
            let bytes = Array("POST /v1/transfers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n".utf8)
            let answer = try await RawHTTP.send(port: node.port, bytes, timeout: 10)
            #expect(answer.status == 501)
            #expect(answer.json?["code"] as? String == "bad_transfer_encoding")
        }
    }

    @Test func rangesBeyondEighteenDigitsAreClampedOrUnsatisfiable() async throws {
        try await withFixtureNode { node, fixture in
            let path = "/v1/models/download/\(NodeFixture.tinyID)"
            let size = NodeFixture.tinySize
            let whole = try await RawHTTP.get(port: node.port, path, headers: ["Range: bytes=0-9223372036854775807"])
            #expect(whole.status == 206)
            #expect(whole.header("content-range") == "bytes 0-\(size - 1)/\(size)")
            #expect(whole.body == (try fixture.bytes(NodeFixture.tinyID)))
            let tail = try await RawHTTP.get(port: node.port, path, headers: ["Range: bytes=9990-99999999999999999999999"])
            #expect(tail.status == 206)
            #expect(tail.header("content-range") == "bytes 9990-\(size - 1)/\(size)")
            #expect(tail.body.count == 10)
            let beyond = try await RawHTTP.get(port: node.port, path, headers: ["Range: bytes=99999999999999999999-"])
            #expect(beyond.status == 416)
            #expect(beyond.header("content-range") == "bytes */\(size)")
        }
    }

    @Test func expectContinueGetsAContinueBeforeTheBody() async throws {
        try await withFixtureNode { node, _ in
            let body = Array("{}".utf8)
            let (interim, final) = try await RawHTTP.blocking {
                let connection = try RawHTTP.Connection(port: node.port, timeout: 10)
                defer { connection.close() }
                try connection.write(
                    Array("POST /v1/transfers HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: \(body.count)\r\n\r\n".utf8))
                let interim = try connection.readResponse(isHead: false)
                try connection.write(body)
                return (interim.status, try connection.readResponse(isHead: false))
            }
            #expect(interim == 100)
            // The route's own answer to that (empty) transfer request.
            #expect(final.status == 400)
            #expect(final.json?["error"] is String)
        }
    }

    @Test func expectContinueWithATooLargeBodyIs413AtOnce() async throws {
        try await withFixtureNode { node, _ in
            let bytes = Array(
                "POST /v1/catalogs HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: \(1 << 40)\r\n\r\n".utf8)
            let answer = try await RawHTTP.send(port: node.port, bytes, timeout: 10)
            #expect(answer.status == 413)
            #expect(answer.json?["code"] as? String == "too_large")
            #expect(answer.header("connection") == "close")
        }
    }

    @Test func anotherExpectationIs417() async throws {
        try await withFixtureNode { node, _ in
            let answer = try await RawHTTP.send(port: node.port, RawHTTP.request("GET", "/health", headers: ["Expect: teapot"]))
            #expect(answer.status == 417)
        }
    }

    @Test(arguments: [
        "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n",
        "GET /health HTTP/1.1\r\nHost: a\r\nHost: a\r\nConnection: close\r\n\r\n",
        "GET /health HTTP/1.1\r\nHost: a\r\nhost: b\r\nConnection: close\r\n\r\n",
        "GET /v1/transfers/ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    ])
    func aMissingOrDuplicatedHostIs400(request: String) async throws {
        try await withFixtureNode { node, _ in
            let answer = try await RawHTTP.send(port: node.port, Array(request.utf8), timeout: 10)
            #expect(answer.status == 400)
            #expect(answer.json?["code"] as? String == "bad_host")
        }
    }

    @Test func hostIsCheckedOnEveryRequestOfAConnection() async throws {
        try await withFixtureNode { node, _ in
            let bytes = RawHTTP.request("GET", "/health", keepAlive: true) + Array("GET /health HTTP/1.1\r\n\r\n".utf8)
            let answers = try await RawHTTP.sendPipelined(port: node.port, bytes, methods: ["GET", "GET"], timeout: 10)
            #expect(answers.map(\.status) == [200, 400])
        }
    }

    @Test func http10MayLeaveOutHost() async throws {
        try await withFixtureNode { node, _ in
            let answer = try await RawHTTP.send(port: node.port, Array("GET /health HTTP/1.0\r\n\r\n".utf8), timeout: 10)
            #expect(answer.status == 200)
        }
    }

    static func upgrade(key: String) -> [UInt8] {
        RawHTTP.request(
            "GET", "/v1/transfers/ws",
            headers: ["Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: \(key)"],
            keepAlive: true)
    }

    @Test(arguments: ["abc", "", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZSE=", "not base64 at all!!!!!!!"])
    func aWebSocketUpgradeWithAnInvalidKeyIs400(key: String) async throws {
        try await withFixtureNode { node, _ in
            let answer = try await RawHTTP.send(port: node.port, Self.upgrade(key: key), timeout: 10)
            #expect(answer.status == 400)
            #expect(answer.json?["code"] as? String == "bad_upgrade")
        }
    }

    @Test func aValidWebSocketUpgradeStillSwitches() async throws {
        try await withFixtureNode { node, _ in
            let head = try await RawHTTP.blocking {
                let connection = try RawHTTP.Connection(port: node.port, timeout: 10)
                defer { connection.close() }
                try connection.write(Self.upgrade(key: "dGhlIHNhbXBsZSBub25jZQ=="))
                return try connection.readHead()
            }
            #expect(head.status == 101)
            #expect(head.headers.first { $0.name == "sec-websocket-accept" }?.value == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        }
    }

    /// `Upgrade` naming websocket among other protocols, in one field or several: the upgrade
    /// happens (before, NIO found no upgrader for the raw `websocket, h2c` and the client got
    /// nothing until the idle close).
    @Test(arguments: [["Upgrade: websocket, h2c"], ["Upgrade: h2c, WebSocket"], ["Upgrade: h2c", "Upgrade: websocket"]])
    func aWebSocketUpgradeAmongOthersSwitches(upgrade: [String]) async throws {
        try await withFixtureNode { node, _ in
            let head = try await RawHTTP.blocking {
                let connection = try RawHTTP.Connection(port: node.port, timeout: 10)
                defer { connection.close() }
                try connection.write(
                    RawHTTP.request(
                        "GET", "/v1/transfers/ws",
                        headers: ["Connection: Upgrade"] + upgrade + [
                            "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                        ],
                        keepAlive: true))
                return try connection.readHead()
            }
            #expect(head.status == 101)
            #expect(head.headers.first { $0.name == "upgrade" }?.value.lowercased() == "websocket")
        }
    }
}
