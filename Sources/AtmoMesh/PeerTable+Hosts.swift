/// Who is asking: the peer behind a client's address.
extension PeerTable {
    /// The node ids of the peers by the host of their HTTP endpoint, for the hosts where
    /// exactly one peer serves (several nodes on one machine share its address, and then
    /// none of them is named). Hosts are normalized as `normalizedHost(_:)` does.
    ///
    /// What the node uses to name the peer an HTTP range request comes from (the request
    /// itself names nobody): the bytes served over HTTP are counted under that peer's
    /// `peer` label (docs/METRICS.md). A client on the host of a peer counts as that peer.
    package var nodeIDsByUniqueHost: [String: String] {
        var byHost: [String: String?] = [:]
        for (nodeID, peer) in peers {
            guard let url = peer.stats.httpURL, let host = Self.host(ofBaseURL: url) else { continue }
            if let held = byHost[host] {
                if held != nodeID { byHost[host] = .some(nil) }
            } else {
                byHost[host] = nodeID
            }
        }
        return byHost.compactMapValues { $0 }
    }

    /// The host of a base URL (`http://10.0.0.2:14750`, `http://[fe80::1]:80/`), normalized;
    /// nil when there is none.
    package static func host(ofBaseURL url: String) -> String? {
        var rest = Substring(url)
        if let colon = rest.firstIndex(of: ":"), rest[colon...].hasPrefix("://") { rest = rest[rest.index(colon, offsetBy: 3)...] }
        if let userInfo = rest.firstIndex(of: "@"), !rest[..<userInfo].contains("/") { rest = rest[rest.index(after: userInfo)...] }
        let host: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = rest[rest.index(after: rest.startIndex)..<close]
        } else {
            host = rest.prefix { $0 != ":" && $0 != "/" && $0 != "?" && $0 != "#" }
        }
        return host.isEmpty ? nil : normalizedHost(String(host))
    }

    /// A host or address as compared: lowercased, an IPv4-mapped IPv6 address
    /// (`::ffff:10.0.0.2`, as a dual-stack socket reports an IPv4 client) as its IPv4 address.
    package static func normalizedHost(_ host: String) -> String {
        let lowered = host.lowercased()
        let mapped = "::ffff:"
        if lowered.hasPrefix(mapped), lowered.dropFirst(mapped.count).contains(".") {
            return String(lowered.dropFirst(mapped.count))
        }
        return lowered
    }
}
