import AsyncHTTPClient
import AtmoDashboardAssets
import AtmoProtocol
import AtmoTesting
import Foundation
import NIOCore
import Testing

@testable import AtmoNode

/// The dashboard on a real node: its files with ETags and security headers, and the access
/// guard in front of it and of the control API (Host, Origin, token).
struct DashboardTests {
    static let csp =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    /// `request` with the headers given, on a fresh connection (exact Host, no redirects followed).
    func raw(_ port: Int, _ method: String, _ target: String, host: String? = nil, headers: [String] = [], body: String = "")
        async throws -> RawHTTP.Response
    {
        var lines = ["\(method) \(target) HTTP/1.1", "Host: \(host ?? "127.0.0.1:\(port)")", "Connection: close"] + headers
        if !body.isEmpty || method == "POST" || method == "PUT" { lines.append("Content-Length: \(body.utf8.count)") }
        return try await RawHTTP.send(
            port: port, Array((lines.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8), isHead: method == "HEAD")
    }

    @Test func thePageAndItsFilesAreServedWithETagsAndSecurityHeaders() async throws {
        try await withFixtureNode { running, _ in
            let page = try await raw(running.port, "GET", "/")
            #expect(page.status == 200)
            #expect(page.header("Content-Type") == "text/html; charset=utf-8")
            #expect(page.body == DashboardAssets.files["index.html"]!.bytes)
            #expect(page.header("Content-Security-Policy") == Self.csp)
            #expect(page.header("X-Content-Type-Options") == "nosniff")
            #expect(page.header("Referrer-Policy") == "no-referrer")
            #expect(page.header("Cache-Control") == "no-cache")
            let etag = try #require(page.header("ETag"))
            #expect(etag.count == 66 && etag.hasPrefix("\"") && etag.hasSuffix("\""), "strong ETag of a SHA-256: \(etag)")

            let script = try await raw(running.port, "GET", "/ui/app.js")
            #expect(script.status == 200)
            #expect(script.header("Content-Type") == "text/javascript; charset=utf-8")
            let scriptTag = try #require(script.header("ETag"))
            #expect(scriptTag != etag)
            let again = try await raw(running.port, "GET", "/ui/app.js", headers: ["If-None-Match: \(scriptTag)"])
            #expect(again.status == 304)
            #expect(again.body.isEmpty)
            #expect(again.header("ETag") == scriptTag)
            #expect(again.header("Content-Security-Policy") == Self.csp)
            let changed = try await raw(running.port, "GET", "/ui/app.js", headers: ["If-None-Match: \"0000\""])
            #expect(changed.status == 200)
            #expect(try await raw(running.port, "GET", "/ui/app.css").header("Content-Type") == "text/css; charset=utf-8")
            #expect(try await raw(running.port, "GET", "/ui/icon.svg").header("Content-Type") == "image/svg+xml")

            let missing = try await raw(running.port, "GET", "/ui/nope.js")
            #expect(missing.status == 404)
            #expect(missing.json?["error"] is String)
            #expect(missing.header("Content-Security-Policy") == Self.csp)
            #expect(try await raw(running.port, "GET", "/ui/../atmo.sqlite").status == 404)
        }
    }

    @Test func aStateChangeFromAnotherSiteIsRefusedAndOneWithoutOriginIsNot() async throws {
        try await withFixtureNode { running, _ in
            let body = #"{"up": "5MB/s"}"#
            let foreign = try await raw(running.port, "PUT", "/v1/limits", headers: ["Origin: https://evil.example"], body: body)
            #expect(foreign.status == 403)
            #expect(foreign.json?["code"] as? String == "cross_origin")
            #expect(running.node.shaper.limits.up.isUnlimited, "nothing changed")
            let crossSite = try await raw(running.port, "PUT", "/v1/limits", headers: ["Sec-Fetch-Site: cross-site"], body: body)
            #expect(crossSite.json?["code"] as? String == "cross_origin")

            let cli = try await raw(running.port, "PUT", "/v1/limits", body: body)
            #expect(cli.status == 200, "\(cli.bodyText)")
            #expect(running.node.shaper.limits.up.bytesPerSecond == 5_000_000)
            let page = try await raw(
                running.port, "PUT", "/v1/limits", headers: ["Origin: http://127.0.0.1:\(running.port)"], body: #"{"up": "6MB/s"}"#)
            #expect(page.status == 200, "the page's own origin")
            let cancel = try await raw(running.port, "DELETE", "/v1/downloads/x", headers: ["Origin: http://evil.example"])
            #expect(cancel.json?["code"] as? String == "cross_origin")
        }
    }

    @Test func aForeignHostFromThisMachineIsRefused() async throws {
        try await withFixtureNode { running, _ in
            for path in ["/", "/ui/app.js", "/v1/node", "/v1/downloads", "/v1/storage"] {
                let rebound = try await raw(running.port, "GET", path, host: "evil.example")
                #expect(rebound.status == 403, "\(path)")
                #expect(rebound.json?["code"] as? String == "forbidden_host", "\(path)")
            }
            #expect(try await raw(running.port, "GET", "/", host: "localhost:\(running.port)").status == 200)
            #expect(try await raw(running.port, "GET", "/v1/downloads", host: "[::1]:\(running.port)").status == 200)
            // Peer routes answer any Host, as before.
            #expect(try await raw(running.port, "GET", "/health", host: "evil.example").status == 200)
            #expect(try await raw(running.port, "GET", "/v1/models", host: "evil.example").status == 200)
        }
    }

    @Test func anotherMachineGetsNothingUnlessPublicAndThenOnlyWithTheToken() async throws {
        try await withFixtureNode(configure: { $0.dashboardSeesClientsAsRemote = true }) { running, _ in
            for path in ["/", "/v1/node", "/v1/downloads", "/v1/limits"] {
                let answer = try await raw(running.port, "GET", path)
                #expect(answer.status == 403, "\(path)")
                #expect(answer.json?["code"] as? String == "local_only", "\(path)")
            }
            #expect(try await raw(running.port, "GET", "/health").status == 200, "peer routes are unchanged")
        }
        try await withFixtureNode(configure: {
            $0.dashboardSeesClientsAsRemote = true
            $0.dashboardPublic = true
        }) { running, fixture in
            let path = DashboardToken.path(stateDirectory: fixture.stateFolder)
            let token = try #require(DashboardToken.existing(stateDirectory: fixture.stateFolder))
            #expect(token.count == 43)
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o600)

            let bare = try await raw(running.port, "GET", "/")
            #expect(bare.status == 401)
            #expect(bare.json?["code"] as? String == "token_required")
            #expect(try await raw(running.port, "GET", "/?token=wrong").status == 401)

            let login = try await raw(running.port, "GET", "/?token=\(token)")
            #expect(login.status == 303)
            #expect(login.header("Location") == "/")
            #expect(login.header("Set-Cookie") == "atmo_token=\(token); HttpOnly; SameSite=Strict; Path=/")

            let withCookie = try await raw(running.port, "GET", "/", headers: ["Cookie: atmo_token=\(token)"])
            #expect(withCookie.status == 200)
            let node = try await raw(running.port, "GET", "/v1/node", headers: ["Authorization: Bearer \(token)"])
            #expect(node.status == 200)
            let downloads = try await raw(running.port, "GET", "/v1/downloads", headers: ["Authorization: Bearer \(token)"])
            #expect(downloads.status == 200, "the control routes follow the guard: \(downloads.bodyText)")
            let wrong = try await raw(running.port, "GET", "/v1/node", headers: ["Authorization: Bearer x\(token)"])
            #expect(wrong.status == 401)
            #expect(wrong.json?["code"] as? String == "token_required")
            let foreign = try await raw(
                running.port, "PUT", "/v1/limits", headers: ["Authorization: Bearer \(token)", "Origin: https://evil.example"], body: "{}")
            #expect(foreign.json?["code"] as? String == "cross_origin")
        }
    }

    @Test func aPublicNodeKeepsItsTokenAcrossRuns() async throws {
        try await withTemporaryDirectory(prefix: "atmo-token") { folder in
            let state = folder.path + "/state"
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            let first = try DashboardToken.loadOrCreate(stateDirectory: state)
            #expect(try DashboardToken.loadOrCreate(stateDirectory: state) == first)
            #expect(first.utf8.allSatisfy { $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "=") })
        }
    }
}
