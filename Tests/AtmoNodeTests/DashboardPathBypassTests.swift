import AtmoProtocol
import AtmoTesting
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import NIOPosix
import Testing

@testable import AtmoNode

/// The router drops empty path segments (`//v1/downloads` is `/v1/downloads`), so the access
/// guard must judge the path as the router reads it, and the control routes must refuse a
/// request the guard did not let in (defence in depth).
struct DashboardPathBypassTests {
    static let bypassPaths = [
        "//v1/downloads", "/v1//downloads", "//v1/node", "//v1/events", "/v1//limits", "//", "//ui/app.js", "/v1/storage/",
    ]

    func raw(_ port: Int, _ method: String, _ target: String, host: String, headers: [String] = [], body: String = "")
        async throws -> RawHTTP.Response
    {
        var lines = ["\(method) \(target) HTTP/1.1", "Host: \(host)", "Connection: close"] + headers
        if !body.isEmpty || method == "POST" || method == "PUT" { lines.append("Content-Length: \(body.utf8.count)") }
        return try await RawHTTP.send(port: port, Array((lines.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8))
    }

    @Test func doubledSlashesDoNotSkipTheGuard() async throws {
        try await withFixtureNode { running, _ in
            let port = running.port
            for path in Self.bypassPaths {
                let rebound = try await raw(port, "GET", path, host: "evil.com")
                #expect(rebound.status == 403, "\(path): \(rebound.bodyText)")
                #expect(rebound.json?["code"] as? String == "forbidden_host", "\(path)")
            }
            for path in ["//v1/downloads", "/v1//downloads", "/v1/downloads/"] {
                let csrf = try await raw(
                    port, "POST", path, host: "evil.com", headers: ["Origin: http://evil.com", "Content-Type: application/json"],
                    body: #"{"model_id":"x"}"#)
                #expect(csrf.status == 403, "\(path): \(csrf.bodyText)")
                let foreign = try await raw(
                    port, "POST", path, host: "127.0.0.1:\(port)", headers: ["Origin: http://evil.com", "Content-Type: application/json"],
                    body: #"{"model_id":"x"}"#)
                #expect(foreign.status == 403, "\(path): \(foreign.bodyText)")
                #expect(foreign.json?["code"] as? String == "cross_origin", "\(path)")
            }
            // No leading slash: the HTTP parser refuses it before any route.
            #expect(try await raw(port, "POST", "v1/downloads", host: "evil.com", body: #"{"model_id":"x"}"#).status == 400)
            let limits = try await raw(
                port, "PUT", "/v1//limits", host: "127.0.0.1:\(port)", headers: ["Origin: http://evil.com"], body: #"{"up":"5MB/s"}"#)
            #expect(limits.status == 403)
            #expect(running.node.shaper.limits.up.isUnlimited, "nothing changed")
            // The CLI (no Origin, an IP literal Host) still gets through, doubled slash or not.
            for path in ["/v1/downloads", "//v1/downloads", "/v1/node", "/v1/limits", "/v1/storage"] {
                #expect(try await raw(port, "GET", path, host: "127.0.0.1:\(port)").status == 200, "\(path)")
            }
        }
    }

    @Test func doubledSlashesFromAnotherMachineNeedTheToken() async throws {
        try await withFixtureNode(configure: { $0.dashboardSeesClientsAsRemote = true }) { running, _ in
            for path in Self.bypassPaths {
                let answer = try await raw(running.port, "GET", path, host: "127.0.0.1:\(running.port)")
                #expect(answer.status == 403, "\(path): \(answer.bodyText)")
                #expect(answer.json?["code"] as? String == "local_only", "\(path)")
            }
        }
        try await withFixtureNode(configure: {
            $0.dashboardSeesClientsAsRemote = true
            $0.dashboardPublic = true
        }) { running, fixture in
            let token = try #require(DashboardToken.existing(stateDirectory: fixture.stateFolder))
            let host = "127.0.0.1:\(running.port)"
            #expect(try await raw(running.port, "GET", "//?token=wrong", host: host).status == 401)
            let login = try await raw(running.port, "GET", "//?token=\(token)", host: host)
            #expect(login.status == 303, "the token on `//` is read as on `/`")
            #expect(login.header("Set-Cookie")?.hasPrefix("atmo_token") == true)
        }
    }

    /// A context as the routes see it for a client on this machine that the guard never saw.
    func loopbackContext() throws -> ProviderRequestContext {
        let channel = EmbeddedChannel()
        channel.remoteAddress = try SocketAddress(ipAddress: "127.0.0.1", port: 40000)
        channel.localAddress = try SocketAddress(ipAddress: "127.0.0.1", port: 8080)
        return ProviderRequestContext(source: .init(channel: channel, logger: Logger(label: "test")))
    }

    @Test func controlRoutesReachedPastTheGuardRefuseEvenThisMachine() async throws {
        var context = try loopbackContext()
        #expect(context.isOnThisMachine)
        #expect(throws: HTTPError.self) { try ProviderRoutes.requireLocal(context) }
        #expect(throws: HTTPError.self) { try ProviderRoutes.requireLocal(context, what: "The storage API") }
        #expect(throws: HTTPError.self) { try LimitsRoutes.requireLocal(context) }
        context.controlGranted = true
        try ProviderRoutes.requireLocal(context)
        try LimitsRoutes.requireLocal(context)

        try await withFixtureNode { running, _ in
            let router = Router(context: ProviderRequestContext.self)
            LimitsRoutes(shaper: running.node.shaper).register(on: router)
            DashboardRoutes(
                node: running.node, relayURLs: [], boundPort: Shared(running.port), fileReaders: .singleton, startedAt: Date(),
                token: nil
            ).register(on: router)
            let responder = router.buildResponder()
            for path in ["/", "/ui/app.js", "/v1/node", "/v1/events", "/v1/limits"] {
                let request = Request(
                    head: HTTPRequest(method: .get, scheme: nil, authority: "127.0.0.1", path: path), body: .init(buffer: ByteBuffer()))
                let response = try await responder.respond(to: request, context: try loopbackContext())
                #expect(response.status == .forbidden, "\(path)")
            }
        }
    }
}
