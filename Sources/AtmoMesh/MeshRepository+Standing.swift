import AtmoProtocol

/// Which of several commits a ref names when nodes disagree (two nodes' `main`): the one
/// the mesh vouches for most, counted so that one sender cannot vote many times
/// (docs/PROTOCOL.md, "Trust"). Node ids are free to invent, so providers are counted by
/// the host of their transfer endpoint: any number of node ids behind one host (or with no
/// HTTP endpoint at all) is one voice. A commit a trusted provider offers (a configured
/// peer, a member of a relay mesh this node is on: the node says which) comes before any
/// other, whatever the counts.
extension MeshRepository {
    /// How much the mesh vouches for a commit; greater is better.
    public struct Standing: Sendable, Hashable, Comparable {
        /// Distinct hosts among its trusted providers.
        public var trustedHosts: Int
        /// Distinct hosts among all its providers.
        public var hosts: Int

        public init(trustedHosts: Int, hosts: Int) {
            self.trustedHosts = trustedHosts
            self.hosts = hosts
        }

        public static func < (lhs: Standing, rhs: Standing) -> Bool {
            (lhs.trustedHosts, lhs.hosts) < (rhs.trustedHosts, rhs.hosts)
        }
    }

    /// The standing of this commit among the providers but `ownNodeID`, `trusted` telling
    /// which node ids this node trusts.
    public func standing(excluding ownNodeID: String? = nil, trusted: (String) -> Bool) -> Standing {
        let others = providers.filter { $0.nodeID != ownNodeID }
        let hosts = Set(others.map { Self.voice(of: $0.endpoints) })
        let trustedHosts = Set(others.filter { trusted($0.nodeID) }.map { Self.voice(of: $0.endpoints) })
        return Standing(trustedHosts: trustedHosts.count, hosts: hosts.count)
    }

    /// `revisions` best standing first; ties by revision (commit order cannot be told from
    /// hashes, and no peer's clock is trusted), so every node orders them alike.
    public static func ranked(
        _ revisions: [MeshRepository], excluding ownNodeID: String? = nil, trusted: (String) -> Bool
    ) -> [MeshRepository] {
        revisions.map { ($0, $0.standing(excluding: ownNodeID, trusted: trusted)) }
            .sorted { ($0.1, $1.0.key.revision) > ($1.1, $0.0.key.revision) }
            .map(\.0)
    }

    /// What a provider's vote is counted by: the host of its HTTP endpoint, lowercased
    /// (port, scheme and path ignored); "" for every provider without one.
    public static func voice(of endpoints: ModelCatalog.TransferEndpoints) -> String {
        guard let url = endpoints.http else { return "" }
        var rest = Substring(url)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<slash] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            rest = rest[rest.index(after: rest.startIndex)..<close]
        } else if let colon = rest.lastIndex(of: ":") {
            rest = rest[..<colon]
        }
        return rest.lowercased()
    }
}
