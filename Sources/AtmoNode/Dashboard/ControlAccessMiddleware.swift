import AtmoProtocol
import HTTPTypes
import Hummingbird

/// Puts `ControlAccess` in front of the dashboard and the control API (the paths
/// `ControlAccess.isControlPath` names): a refused request is answered here, with the
/// refusal's status and code; an allowed one goes on with `controlGranted` set, which the
/// control routes' `requireControl` checks (a route reached past this guard refuses). The
/// path is judged as the router reads it (`ControlAccess.routedPath`: `//v1/downloads` is
/// `/v1/downloads`). Every answer on those paths carries the dashboard's security headers.
/// Other paths pass untouched.
struct ControlAccessMiddleware: RouterMiddleware {
    typealias Context = ProviderRequestContext

    let access: ControlAccess
    /// Tests only: every client counts as another machine.
    var seesClientsAsRemote = false
    /// Called after a state-changing control request succeeded (storage, limits... may
    /// have changed: the dashboard's `node` event).
    let changed: @Sendable () -> Void

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard ControlAccess.isControlPath(path) else { return try await next(request, context) }
        var facts = Self.facts(request, context: context)
        if seesClientsAsRemote { facts.isLocalClient = false }
        let decision = access.decide(facts)
        if let rejection = decision.rejection {
            var response = JSONResponse.error(HTTPResponse.Status(code: rejection.status), rejection.message, code: rejection.code)
            if rejection.status == 401 { response.headers[.wwwAuthenticate] = "Bearer" }
            DashboardHeaders.secure(&response.headers)
            return request.method == .head ? response.createHeadResponse() : response
        }
        var context = context
        context.controlGranted = true
        var response = try await next(request, context)
        DashboardHeaders.secure(&response.headers)
        if ControlAccess.changesState(request.method.rawValue), response.status.code < 400 { changed() }
        return response
    }

    /// What `ControlAccess` looks at in `request`.
    static func facts(_ request: Request, context: Context) -> ControlAccess.Request {
        let cookies = request.headers[values: .cookie]
        return ControlAccess.Request(
            isLocalClient: context.isOnThisMachine,
            host: request.head.authority ?? request.headers[.hostHeader],
            origin: request.headers[.origin],
            secFetchSite: request.headers[.secFetchSite],
            method: request.method.rawValue,
            authorization: request.headers[.authorization],
            cookie: cookies.isEmpty ? nil : cookies.joined(separator: "; "),
            queryToken: ControlAccess.routedPath(request.uri.path) == "/" ? request.uri.queryParameters.get("token") : nil)
    }
}

/// The headers of every dashboard answer (docs/PROTOCOL.md): no script, style or
/// connection from anywhere but the node itself, no framing, no sniffing, no referrer.
enum DashboardHeaders {
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    static func secure(_ headers: inout HTTPFields) {
        headers[.contentSecurityPolicy] = contentSecurityPolicy
        headers[.xContentTypeOptions] = "nosniff"
        headers[.referrerPolicy] = "no-referrer"
    }
}

extension HTTPField.Name {
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
    static let hostHeader = HTTPField.Name("Host")!
}
