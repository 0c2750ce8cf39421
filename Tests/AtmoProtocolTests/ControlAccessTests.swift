import Testing

@testable import AtmoProtocol

/// `ControlAccess`: who may use the dashboard and the control API, decided without I/O.
struct ControlAccessTests {
    static let token = "Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg"

    /// One request, how the node is set up, and the code it must get (nil: allowed).
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var request: ControlAccess.Request
        var isPublic = false
        var expected: String?
        var status: Int?
        var testDescription: String { name }
    }

    static func local(host: String?, origin: String? = nil, site: String? = nil, method: String = "GET") -> ControlAccess.Request {
        ControlAccess.Request(isLocalClient: true, host: host, origin: origin, secFetchSite: site, method: method)
    }

    static func remote(
        host: String = "192.168.1.10:14750", method: String = "GET", origin: String? = nil, authorization: String? = nil,
        cookie: String? = nil, query: String? = nil
    ) -> ControlAccess.Request {
        ControlAccess.Request(
            isLocalClient: false, host: host, origin: origin, method: method, authorization: authorization, cookie: cookie,
            queryToken: query)
    }

    static let cases: [Case] = [
        // 1. This machine, under a loopback name or an IP literal.
        Case(name: "CLI: 127.0.0.1 with a port", request: local(host: "127.0.0.1:14750")),
        Case(name: "127.9.8.7", request: local(host: "127.9.8.7")),
        Case(name: "localhost", request: local(host: "localhost:8080")),
        Case(name: "LocalHost. (case, final dot)", request: local(host: "LocalHost.:8080")),
        Case(name: "app.localhost", request: local(host: "app.localhost:1")),
        Case(name: "[::1]", request: local(host: "[::1]:14750")),
        Case(name: "[fe80::1%25eth0]", request: local(host: "[fe80::1%25eth0]:14750")),
        Case(name: "a LAN address", request: local(host: "192.168.1.10:14750")),
        Case(name: "DNS rebinding: evil.example", request: local(host: "evil.example"), expected: "forbidden_host", status: 403),
        Case(name: "evil.example with a port", request: local(host: "evil.example:14750"), expected: "forbidden_host", status: 403),
        Case(name: "localhost.evil.example", request: local(host: "localhost.evil.example"), expected: "forbidden_host", status: 403),
        Case(name: "127.0.0.1.evil.example", request: local(host: "127.0.0.1.evil.example"), expected: "forbidden_host", status: 403),
        Case(name: "no Host", request: local(host: nil), expected: "forbidden_host", status: 403),
        Case(name: "bad port", request: local(host: "127.0.0.1:http"), expected: "forbidden_host", status: 403),
        Case(name: "unbracketed IPv6", request: local(host: "::1"), expected: "forbidden_host", status: 403),
        Case(name: "300.1.1.1", request: local(host: "300.1.1.1"), expected: "forbidden_host", status: 403),
        // 3. State-changing requests from another site.
        Case(name: "POST with no Origin (CLI, curl)", request: local(host: "127.0.0.1:14750", method: "POST")),
        Case(
            name: "POST from the page's own origin",
            request: local(host: "127.0.0.1:14750", origin: "http://127.0.0.1:14750", method: "POST")),
        Case(
            name: "DELETE from localhost's own origin",
            request: local(host: "localhost:14750", origin: "http://LOCALHOST:14750", method: "DELETE")),
        Case(
            name: "POST from another site", request: local(host: "127.0.0.1:14750", origin: "https://evil.example", method: "POST"),
            expected: "cross_origin", status: 403),
        Case(
            name: "PUT from another port", request: local(host: "127.0.0.1:14750", origin: "http://127.0.0.1:8000", method: "PUT"),
            expected: "cross_origin", status: 403),
        Case(
            name: "PATCH from Origin null", request: local(host: "127.0.0.1:1", origin: "null", method: "PATCH"), expected: "cross_origin",
            status: 403),
        Case(
            name: "POST with Sec-Fetch-Site: cross-site", request: local(host: "127.0.0.1:1", site: "cross-site", method: "POST"),
            expected: "cross_origin", status: 403),
        Case(name: "POST with Sec-Fetch-Site: same-origin", request: local(host: "127.0.0.1:1", site: "same-origin", method: "POST")),
        Case(
            name: "GET from another site (read: the browser keeps the answer)",
            request: local(host: "127.0.0.1:1", origin: "https://evil.example")),
        // 2. Another machine.
        Case(name: "remote, not public", request: remote(authorization: "Bearer \(token)"), expected: "local_only", status: 403),
        Case(name: "remote, public, no token", request: remote(), isPublic: true, expected: "token_required", status: 401),
        Case(name: "remote, public, bearer", request: remote(authorization: "Bearer \(token)"), isPublic: true),
        Case(name: "remote, public, bearer (scheme case)", request: remote(authorization: "bearer  \(token)"), isPublic: true),
        Case(name: "remote, public, cookie", request: remote(cookie: "theme=dark; atmo_token=\(token)"), isPublic: true),
        Case(name: "remote, public, ?token=", request: remote(query: token), isPublic: true),
        Case(
            name: "remote, public, wrong bearer", request: remote(authorization: "Bearer x\(token)"), isPublic: true,
            expected: "token_required", status: 401),
        Case(
            name: "remote, public, token one character short", request: remote(cookie: "atmo_token=\(token.dropLast())"), isPublic: true,
            expected: "token_required", status: 401),
        Case(
            name: "remote, public, Basic auth", request: remote(authorization: "Basic \(token)"), isPublic: true,
            expected: "token_required", status: 401),
        Case(
            name: "remote, public, token, any Host name", request: remote(host: "studio.lan:14750", cookie: "atmo_token=\(token)"),
            isPublic: true),
        Case(
            name: "remote, public, token, POST from another site",
            request: remote(method: "POST", origin: "https://evil.example", authorization: "Bearer \(token)"), isPublic: true,
            expected: "cross_origin", status: 403),
        Case(
            name: "remote, public, token, POST from its own page",
            request: remote(method: "POST", origin: "http://192.168.1.10:14750", cookie: "atmo_token=\(token)"), isPublic: true),
    ]

    @Test(arguments: cases)
    func decides(_ test: Case) {
        let access = ControlAccess(isPublic: test.isPublic, token: test.isPublic ? Self.token : nil)
        let decision = access.decide(test.request)
        #expect(decision.rejection?.code == test.expected)
        #expect(decision.rejection?.status == test.status)
        if let rejection = decision.rejection {
            #expect(rejection.message.count > 40, "a refusal says what to do: \(rejection.message)")
        }
    }

    @Test func aNodeListeningOnANameIsAnsweredUnderIt() {
        let access = ControlAccess(extraHostNames: ["Studio.lan"])
        #expect(access.decide(Self.local(host: "studio.lan:14750")) == .allow(byToken: false))
        #expect(access.decide(Self.local(host: "other.lan:14750")).rejection?.code == "forbidden_host")
    }

    @Test func aPublicNodeWithoutATokenLetsNoOtherMachineIn() {
        let access = ControlAccess(isPublic: true, token: nil)
        #expect(access.decide(Self.remote(authorization: "Bearer ")).rejection?.code == "token_required")
    }

    @Test func tokenGrantIsReported() {
        let access = ControlAccess(isPublic: true, token: Self.token)
        #expect(access.decide(Self.remote(cookie: "atmo_token=\(Self.token)")) == .allow(byToken: true))
        #expect(access.decide(Self.local(host: "127.0.0.1")) == .allow(byToken: false))
    }

    @Test(arguments: [
        ("/", true), ("/ui/app.js", true), ("/v1/node", true), ("/v1/events", true), ("/v1/downloads", true),
        ("/v1/downloads/abc/pause", true), ("/v1/downloads/events", true), ("/v1/storage/pins/x", true), ("/v1/limits", true),
        ("/v1/follows", true), ("/v1/updates/x", true), ("/v1/rollback", true), ("/v1/repository-pulls", true),
        ("/health", false), ("/v1/models", false), ("/v1/models/download/x", false), ("/v1/catalogs", false),
        ("/v1/transfers", false), ("/v1/mesh/models", false), ("/metrics", false), ("/api/models/x", false),
        ("/v1/nodes", false), ("/v1/limitsx", false),
    ])
    func controlPaths(_ path: String, _ guarded: Bool) {
        #expect(ControlAccess.isControlPath(path) == guarded)
    }

    @Test func constantTimeComparison() {
        #expect(ControlAccess.constantTimeEquals("abc", "abc"))
        #expect(!ControlAccess.constantTimeEquals("abc", "abd"))
        #expect(!ControlAccess.constantTimeEquals("abc", "abcd"))
        #expect(!ControlAccess.constantTimeEquals("", "a"))
        #expect(ControlAccess.constantTimeEquals("", ""))
    }
}
