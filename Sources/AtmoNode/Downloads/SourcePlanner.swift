import Foundation
import AtmoProtocol
import AtmoTransfer

/// Turns the mesh's versions of a model into the sources of a pull: one version (the one
/// asked for, or the only one offered), its providers' direct HTTP endpoints best first,
/// then their relay routes, optionally only one node. Partial holders (nodes still pulling
/// it) are sources too, marked `partial`, each after the complete providers' routes of the
/// same kind. Pure, shared by the node's queue and `atmo pull`.
public enum SourcePlanner {
    public struct Plan: Sendable, Equatable {
        public var sources: [PullSource]
        public var sha256: String
        /// The version's entry as the mesh view shows it: a complete holder's, else the one
        /// its partial holders announced (the pull's `PullRequest.announcedEntry`).
        public var entry: ModelEntry
    }

    public enum Outcome: Sendable, Equatable {
        case pull(Plan)
        /// This node has it and no other node offers it.
        case alreadyHere
        /// Several versions are offered and none was asked for: the message lists them.
        case chooseVersion(String)
        /// Cannot pull: why, with the error code.
        case refuse(TransferError.Code, String)
    }

    public static func plan(
        modelID: String, versions: [MeshAPI.Model], sha256: String? = nil, preferredNode: String? = nil
    ) -> Outcome {
        var candidates = versions
        if let expected = sha256?.lowercased() {
            candidates = candidates.filter { $0.entry.sha256 == expected }
            if candidates.isEmpty { return .refuse(.notOffered, "no node of the mesh offers \(modelID) with SHA-256 \(expected)") }
        }
        guard let model = candidates.first else { return .refuse(.notOffered, "no node of the mesh offers \(modelID) (see `atmo models`)") }
        if candidates.count > 1 {
            let list = candidates.map { "\($0.entry.sha256) (version \($0.entry.version), \($0.providers.count) peers)" }
            return .chooseVersion(
                "the mesh offers \(candidates.count) versions of \(modelID); choose one with --sha256: " + list.joined(separator: ", "))
        }
        var providers = model.providers.filter { !routes(to: $0).isEmpty }
        if let preferredNode {
            providers = providers.filter { $0.nodeID == preferredNode || $0.nodeName == preferredNode }
            if providers.isEmpty {
                return .refuse(.notOffered, "node \(preferredNode) does not offer \(modelID) on a route this node has (see `atmo peers`)")
            }
        }
        if providers.isEmpty {
            if model.installed { return .alreadyHere }
            return .refuse(
                .notOffered,
                "\(modelID) is offered only by nodes this one cannot reach: no HTTP endpoint, and no relay in common (see `atmo peers`)")
        }
        // Endpoints that answer first (best provider first), then their WebSocket endpoints,
        // then relay routes, then the endpoints whose last probe failed: a pull whose path
        // fails moves to the next route and keeps the pieces it has. Within each kind, the
        // nodes holding the file whole come before the partial holders.
        let all = providers.flatMap(routes(to:))
        let ordered = [RouteKind.answering, .websocket, .relay, .failing].flatMap { kind in
            all.filter { $0.kind == kind && !$0.source.partial } + all.filter { $0.kind == kind && $0.source.partial }
        }
        return .pull(Plan(sources: ordered.map(\.source), sha256: model.entry.sha256, entry: model.entry))
    }

    enum RouteKind { case answering, websocket, relay, failing }

    /// The WebSocket transfer endpoint of a node serving HTTP at `http`.
    public static func webSocketURL(of http: String) -> String? {
        guard var components = URLComponents(string: http) else { return nil }
        switch components.scheme?.lowercased() {
        case "http": components.scheme = "ws"
        case "https": components.scheme = "wss"
        default: return nil
        }
        let base = components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path
        components.path = base + HTTPAPI.transferSocketPath
        return components.string
    }

    /// The ways to pull from `provider`: its HTTP endpoint (answering, or failing its last
    /// probe), its WebSocket endpoint when it has one and its HTTP answers, and the relay
    /// when it is reachable through one; marked `partial` for a partial holder.
    static func routes(to provider: MeshAPI.Provider) -> [(kind: RouteKind, source: PullSource)] {
        routes(toWhole: provider).map { route in
            var source = route.source
            source.partial = provider.isPartial
            return (route.kind, source)
        }
    }

    private static func routes(toWhole provider: MeshAPI.Provider) -> [(kind: RouteKind, source: PullSource)] {
        let transports = provider.effectiveTransports
        var routes: [(kind: RouteKind, source: PullSource)] = []
        if let http = provider.http {
            let answering = transports.contains("http")
            routes.append((answering ? .answering : .failing, PullSource(baseURL: http, nodeID: provider.nodeID)))
            if answering, transports.contains("websocket"), let url = webSocketURL(of: http) {
                routes.append((.websocket, PullSource(webSocketURL: url, nodeID: provider.nodeID)))
            }
        }
        if transports.contains("relay") { routes.append((.relay, PullSource(relayedNodeID: provider.nodeID))) }
        return routes
    }
}
