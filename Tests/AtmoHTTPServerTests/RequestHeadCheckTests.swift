import NIOHTTP1
import Testing

@testable import AtmoHTTPServer

/// The rules every request head passes before routing, without sockets.
struct RequestHeadCheckTests {
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="

    static func head(
        _ method: HTTPMethod = .GET, version: HTTPVersion = .http1_1, _ headers: [(String, String)] = [("Host", "x")]
    ) -> HTTPRequestHead {
        HTTPRequestHead(version: version, method: method, uri: "/health", headers: HTTPHeaders(headers))
    }

    static func status(_ verdict: RequestHeadCheck.Verdict) -> Int? {
        guard case .refuse(let error) = verdict else { return nil }
        return error.status
    }

    static func check(_ head: HTTPRequestHead, isFirst: Bool = true) -> RequestHeadCheck.Verdict {
        RequestHeadCheck.check(head, isFirst: isFirst, maxBodyBytes: 1000)
    }

    @Test func anOrdinaryHeadPasses() {
        let head = Self.head()
        #expect(Self.check(head) == .pass(head, sendContinue: false))
    }

    @Test func hostMustBeThereOnceInHTTP11() {
        #expect(Self.status(Self.check(Self.head(.GET, []))) == 400)
        #expect(Self.status(Self.check(Self.head(.GET, [("Host", "a"), ("Host", "a")]))) == 400)
        #expect(Self.status(Self.check(Self.head(.GET, [("Host", "a"), ("host", "b")]), isFirst: false)) == 400)
        // HTTP/1.0 may leave it out, but not send two.
        #expect(Self.status(Self.check(Self.head(.GET, version: .http1_0, []))) == nil)
        #expect(Self.status(Self.check(Self.head(.GET, version: .http1_0, [("Host", "a"), ("Host", "b")]))) == 400)
    }

    @Test func anUpgradeOtherThanWebSocketIsDropped() {
        let h2c = Self.head(
            .GET,
            [("Host", "x"), ("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"), ("HTTP2-Settings", "AAMAAABkAAQCAAAAAAIAAAAA")])
        guard case .pass(let passed, false) = Self.check(h2c) else {
            Issue.record("an h2c upgrade request was refused")
            return
        }
        #expect(passed.headers["Upgrade"].isEmpty)
        #expect(!RequestHeadCheck.isWebSocketUpgrade(passed))
    }

    @Test func aWebSocketUpgradeAmongOthersBecomesOneUpgradeField() {
        for upgrades in [["websocket, h2c"], ["h2c, WebSocket"], ["h2c", "websocket"]] {
            let head = Self.head(
                .GET,
                [("Host", "x"), ("Connection", "Upgrade")] + upgrades.map { ("Upgrade", $0) } + [
                    ("Sec-WebSocket-Key", Self.key), ("Sec-WebSocket-Version", "13"),
                ])
            guard case .pass(let passed, false) = Self.check(head) else {
                Issue.record("a WebSocket upgrade among \(upgrades) was refused")
                continue
            }
            #expect(passed.headers["Upgrade"] == ["websocket"], "\(upgrades)")
        }
    }

    static func webSocket(key: String? = key, version: String? = "13", method: HTTPMethod = .GET, extra: [(String, String)] = [])
        -> HTTPRequestHead
    {
        var headers = [("Host", "x"), ("Connection", "Upgrade"), ("Upgrade", "websocket")]
        if let key { headers.append(("Sec-WebSocket-Key", key)) }
        if let version { headers.append(("Sec-WebSocket-Version", version)) }
        return head(method, headers + extra)
    }

    @Test func aValidWebSocketUpgradePasses() {
        let head = Self.webSocket()
        #expect(Self.check(head) == .pass(head, sendContinue: false))
        #expect(RequestHeadCheck.isWebSocketUpgrade(head))
    }

    @Test(arguments: [
        "", "abc", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZ===",
        "dGhlIHNhbXBsZSBub25jZSE=", "dGhlIHNhbXBsZSBub25jZQ==dGhl", "!!!!!!!!!!!!!!!!!!!!!!==", "dGhlIHNhbXBsZSBub25j",
    ])
    func anInvalidWebSocketKeyIsRefused(key: String) {
        #expect(Self.status(Self.check(Self.webSocket(key: key))) == 400)
    }

    @Test func aWebSocketUpgradeNeedsOneKeyVersion13AndAGet() {
        #expect(Self.status(Self.check(Self.webSocket(key: nil))) == 400)
        #expect(Self.status(Self.check(Self.webSocket(extra: [("Sec-WebSocket-Key", Self.key)]))) == 400)
        #expect(Self.status(Self.check(Self.webSocket(version: "8"))) == 426)
        #expect(Self.status(Self.check(Self.webSocket(version: nil))) == 426)
        #expect(Self.status(Self.check(Self.webSocket(method: .POST))) == 400)
        #expect(Self.status(Self.check(Self.webSocket(extra: [("Content-Length", "5")]))) == 400)
        guard case .refuse(let error) = Self.check(Self.webSocket(version: "8")) else { return }
        #expect(error.headers == ["Sec-WebSocket-Version": "13"])
    }

    @Test func onlyTheFirstRequestIsHeldToTheUpgradeRules() {
        // Later requests cannot upgrade; Hummingbird answers them itself.
        let head = Self.webSocket(key: "short")
        #expect(Self.check(head, isFirst: false) == .pass(head, sendContinue: false))
    }

    @Test func expectContinueGetsAContinueOrA413() {
        let small = Self.head(.POST, [("Host", "x"), ("Expect", "100-continue"), ("Content-Length", "1000")])
        #expect(Self.check(small) == .pass(small, sendContinue: true))
        let large = Self.head(.POST, [("Host", "x"), ("Expect", "100-Continue"), ("Content-Length", "1001")])
        #expect(Self.status(Self.check(large)) == 413)
        let chunked = Self.head(.POST, [("Host", "x"), ("Expect", "100-continue"), ("Transfer-Encoding", "chunked")])
        #expect(Self.check(chunked) == .pass(chunked, sendContinue: true))
        // No body: nothing to wait for.
        let empty = Self.head(.POST, [("Host", "x"), ("Expect", "100-continue")])
        #expect(Self.check(empty) == .pass(empty, sendContinue: false))
        // HTTP/1.0 clients never wait for 100.
        let old = Self.head(.POST, version: .http1_0, [("Expect", "100-continue"), ("Content-Length", "5000")])
        #expect(Self.check(old) == .pass(old, sendContinue: false))
    }

    @Test func anotherExpectationIs417() {
        #expect(Self.status(Self.check(Self.head(.POST, [("Host", "x"), ("Expect", "something")]))) == 417)
        #expect(Self.status(Self.check(Self.head(.POST, [("Host", "x"), ("Expect", "100-continue, x")]))) == 417)
    }

    @Test func transferCodingsOtherThanChunkedAreRefused() {
        #expect(Self.status(Self.check(Self.head(.POST, [("Host", "x"), ("Transfer-Encoding", "gzip")]))) == 400)
        #expect(Self.status(Self.check(Self.head(.POST, [("Host", "x"), ("Transfer-Encoding", "chunked, gzip")]))) == 400)
        #expect(Self.status(Self.check(Self.head(.POST, [("Host", "x"), ("Transfer-Encoding", "gzip, chunked")]))) == 501)
        let chunked = Self.head(.POST, [("Host", "x"), ("Transfer-Encoding", "Chunked")])
        #expect(Self.check(chunked) == .pass(chunked, sendContinue: false))
    }
}
