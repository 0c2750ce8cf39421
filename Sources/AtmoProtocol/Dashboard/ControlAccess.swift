/// Who may use the node's dashboard and control API (issue 13, docs/PROTOCOL.md "Dashboard
/// and control API access"): one pure decision, from what the request says and how the node
/// is set up, tested without I/O.
///
/// 1. A client on this machine is allowed, but only under a `Host` that is a loopback name
///    or an IP literal (a page of another site that rebinds its name to 127.0.0.1 is not):
///    else 403 `forbidden_host`.
/// 2. Another machine: 403 `local_only`, unless the node is public (`--dashboard-public`),
///    and then only with the token (`Authorization: Bearer T`, cookie `atmo_token=T`, or
///    `?token=T` on the page's address): else 401 `token_required`.
/// 3. A state-changing method (POST, PUT, PATCH, DELETE) with an `Origin` that is not the
///    page's own (scheme://Host), or with `Sec-Fetch-Site: cross-site`: 403 `cross_origin`.
///    No `Origin` at all (the CLI, curl) passes.
package struct ControlAccess: Sendable {
    /// Whether other machines may come in (with the token).
    package var isPublic: Bool
    /// The token other machines must present; nil: nobody from elsewhere gets in.
    package var token: String?
    /// More names this node answers local clients under (the name it was told to listen
    /// on, when that is a name), beside loopback names and IP literals. Lowercased.
    package var extraHostNames: Set<String>

    package init(isPublic: Bool = false, token: String? = nil, extraHostNames: Set<String> = []) {
        self.isPublic = isPublic
        self.token = token
        self.extraHostNames = Set(extraHostNames.map { $0.lowercased() })
    }

    /// What the decision looks at in one request.
    package struct Request: Sendable, Equatable {
        /// The client is on this machine (loopback, a Unix socket, or this machine's address).
        package var isLocalClient: Bool
        /// The `Host` header, as sent.
        package var host: String?
        /// The `Origin` header, as sent.
        package var origin: String?
        /// The `Sec-Fetch-Site` header, as sent.
        package var secFetchSite: String?
        /// The method's name, e.g. `POST`.
        package var method: String
        /// The `Authorization` header, as sent.
        package var authorization: String?
        /// The `Cookie` header(s), as sent (joined with `; `).
        package var cookie: String?
        /// A `token` query parameter (honoured on the page's address only).
        package var queryToken: String?

        package init(
            isLocalClient: Bool, host: String?, origin: String? = nil, secFetchSite: String? = nil, method: String = "GET",
            authorization: String? = nil, cookie: String? = nil, queryToken: String? = nil
        ) {
            self.isLocalClient = isLocalClient
            self.host = host
            self.origin = origin
            self.secFetchSite = secFetchSite
            self.method = method
            self.authorization = authorization
            self.cookie = cookie
            self.queryToken = queryToken
        }
    }

    /// A refusal: the status, a machine-readable code and a sentence that says what to do.
    package struct Rejection: Error, Sendable, Equatable {
        package var status: Int
        package var code: String
        package var message: String
    }

    /// The outcome for one request.
    package enum Decision: Sendable, Equatable {
        /// Go ahead; `byToken` when the client got in by presenting the token.
        case allow(byToken: Bool)
        case reject(Rejection)

        package var rejection: Rejection? {
            if case .reject(let rejection) = self { return rejection }
            return nil
        }
    }

    /// The cookie that carries the token.
    package static let cookieName = "atmo_token"

    /// Decides `request`.
    package func decide(_ request: Request) -> Decision {
        var byToken = false
        if request.isLocalClient {
            guard let host = request.host, Self.isLoopbackOrLiteral(host: host) || extraHostNames.contains(Self.hostName(host)) else {
                return .reject(
                    Rejection(
                        status: 403, code: "forbidden_host",
                        message: "This node's dashboard and control API answer only under a loopback name or an IP address "
                            + "(Host '\(Self.shown(request.host ?? ""))' is neither); open http://127.0.0.1:<port>/ or "
                            + "http://localhost:<port>/ instead"))
            }
        } else {
            guard isPublic else {
                return .reject(
                    Rejection(
                        status: 403, code: "local_only",
                        message: "This node's dashboard and control API answer only this machine; to open them to other "
                            + "machines (with a token), start it with `atmo serve --dashboard-public`"))
            }
            guard let token, presentsToken(request, token) else {
                return .reject(
                    Rejection(
                        status: 401, code: "token_required",
                        message: "This node's dashboard needs its token: open the address `atmo serve` printed "
                            + "(http://HOST:PORT/?token=...), or send `Authorization: Bearer <token>`; the token is in "
                            + "the node's state folder, file dashboard-token"))
            }
            byToken = true
        }
        if Self.changesState(request.method), let refusal = crossSite(request) {
            return .reject(refusal)
        }
        return .allow(byToken: byToken)
    }

    /// Whether `request` carries the token in any of its three places.
    func presentsToken(_ request: Request, _ token: String) -> Bool {
        let presented = [
            Self.bearerToken(request.authorization), Self.cookieValue(request.cookie, name: Self.cookieName), request.queryToken,
        ]
        // Every candidate is compared, so the time taken does not tell which one matched.
        var matched = false
        for candidate in presented {
            if let candidate, Self.constantTimeEquals(candidate, token) { matched = true }
        }
        return matched
    }

    /// The refusal of a request from another site, if it is one.
    func crossSite(_ request: Request) -> Rejection? {
        if request.secFetchSite?.lowercased() == "cross-site" {
            return Rejection(
                status: 403, code: "cross_origin",
                message: "A page of another site may not change this node (Sec-Fetch-Site: cross-site); use the node's "
                    + "own dashboard or the atmo CLI")
        }
        guard let origin = request.origin else { return nil }
        if let host = request.host, Self.isSameOrigin(origin, host: host) { return nil }
        return Rejection(
            status: 403, code: "cross_origin",
            message: "A page of another origin ('\(Self.shown(origin))') may not change this node; use the node's own "
                + "dashboard or the atmo CLI")
    }

    /// POST, PUT, PATCH and DELETE (and any method that is not a safe one).
    package static func changesState(_ method: String) -> Bool {
        switch method.uppercased() {
        case "GET", "HEAD", "OPTIONS", "TRACE": return false
        default: return true
        }
    }
}
