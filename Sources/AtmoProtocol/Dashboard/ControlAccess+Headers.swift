/// How `ControlAccess` reads `Host`, `Origin`, `Authorization` and `Cookie`, and which paths
/// it guards.
extension ControlAccess {
    /// The paths of the dashboard and of the control API: the page and its files, the node
    /// and event views, and every route that changes or shows this node's own state.
    /// `path` is the request's path as sent; it is decided as the router reads it
    /// (`routedPath`), so `//v1/downloads` or `/v1//node` are control paths too.
    package static func isControlPath(_ path: String) -> Bool {
        let path = routedPath(path)
        if path == "/" || path.hasPrefix("/ui/") { return true }
        for prefix in controlPrefixes where path == prefix || path.hasPrefix(prefix + "/") {
            return true
        }
        return false
    }

    /// The path as Hummingbird's router matches it: its components between slashes, empty
    /// ones dropped (`//v1//node/` is `/v1/node`; no leading slash: `v1/node` is too). The
    /// router does nothing else to a path: no percent-decoding, no dot segments (`/v1/./node`
    /// and `/v1/%6Eode` match no route), case kept (its `caseInsensitive` option is off).
    package static func routedPath(_ path: String) -> String {
        "/" + path.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
    }

    static let controlPrefixes = [
        NodeAPI.path, NodeAPI.eventsPath, DownloadAPI.path, StorageAPI.path, BandwidthLimits.apiPath, UpdatesAPI.followsPath,
        UpdatesAPI.updatesPath, UpdatesAPI.rollbackPath, RepositoryPullAPI.path,
    ]

    /// Whether `host` (a `Host` header: name or IP, with or without a port) is a loopback
    /// name (`localhost`, `*.localhost`) or an IP literal (`127.0.0.1`, `[::1]`, any address).
    package static func isLoopbackOrLiteral(host: String) -> Bool {
        let name = hostName(host)
        if name.isEmpty { return false }
        if name == "localhost" || name.hasSuffix(".localhost") { return true }
        return isIPv4Literal(name) || isIPv6Literal(name)
    }

    /// The host part of a `Host` header, lowercased, without the port or brackets, and
    /// without a final dot (`localhost.` is `localhost`).
    package static func hostName(_ host: String) -> String {
        var value = Substring(host.lowercased())
        if value.hasPrefix("[") {
            guard let close = value.firstIndex(of: "]") else { return "" }
            let rest = value[value.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && rest.dropFirst().allSatisfy(\.isNumber)) else { return "" }
            return String(value[value.index(after: value.startIndex)..<close])
        }
        if let colon = value.lastIndex(of: ":") {
            // One colon: name:port; more: an IPv6 address without brackets (not valid in a Host).
            if value.firstIndex(of: ":") != colon { return "" }
            guard value[value.index(after: colon)...].allSatisfy(\.isNumber) else { return "" }
            value = value[..<colon]
        }
        if value.hasSuffix(".") { value = value.dropLast() }
        return String(value)
    }

    static func isIPv4Literal(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { part in
                !part.isEmpty && part.count <= 3 && part.allSatisfy { $0.isASCII && $0.isNumber } && Int(part)! <= 255
            }
    }

    static func isIPv6Literal(_ name: String) -> Bool {
        let address = name.split(separator: "%", maxSplits: 1).first.map(String.init) ?? name
        guard address.contains(":"), address.count <= 45 else { return false }
        return address.allSatisfy { $0 == ":" || $0 == "." || $0.isHexDigit }
    }

    /// Whether `origin` is `http://HOST` or `https://HOST` (default ports folded).
    static func isSameOrigin(_ origin: String, host: String) -> Bool {
        let origin = origin.lowercased()
        let host = host.lowercased()
        for scheme in ["http", "https"] {
            let defaultPort = scheme == "http" ? ":80" : ":443"
            let ownHost = host.hasSuffix(defaultPort) ? String(host.dropLast(defaultPort.count)) : host
            let prefix = scheme + "://"
            guard origin.hasPrefix(prefix) else { continue }
            var rest = String(origin.dropFirst(prefix.count))
            if rest.hasSuffix(defaultPort) { rest = String(rest.dropLast(defaultPort.count)) }
            if rest == ownHost { return true }
        }
        return false
    }

    /// The token of `Authorization: Bearer T`.
    package static func bearerToken(_ authorization: String?) -> String? {
        guard let authorization else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingSpaces
        return token.isEmpty ? nil : token
    }

    /// The value of cookie `name` in a `Cookie` header.
    package static func cookieValue(_ header: String?, name: String) -> String? {
        guard let header else { return nil }
        for pair in header.split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0].trimmingSpaces == name else { continue }
            var value = parts[1].trimmingSpaces
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }

    /// Compares in time that depends on the lengths only, never on where the bytes differ.
    package static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for index in 0..<max(x.count, y.count) {
            let left = index < x.count ? x[index] : 0
            let right = index < y.count ? y[index] : 0
            difference |= left ^ right
        }
        return difference == 0
    }

    /// `text` cut to 100 characters of printable ASCII, to quote a header in a message.
    static func shown(_ text: String) -> String {
        String(
            String.UnicodeScalarView(text.unicodeScalars.prefix(100).map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? $0 : "?" }))
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
