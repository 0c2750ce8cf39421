import AtmoProtocol
import AtmoStore
import Foundation
import Hummingbird

extension DashboardRoutes {
    /// `GET /v1/node`: identity, relays, direct links, mesh, uploads, storage and limits.
    func status() async throws -> NodeAPI.Status {
        let (storage, membership) = try await fileReaders.runIfActive { [node] in
            let membership = try? MeshMembership.load(stateDirectory: node.configuration.stateDirectory)
            return (try node.storage.status(), membership)
        }
        let links = node.transferHub.linkPeerCounts
        let relays = relayURLs.map { url in
            links[url].map { NodeAPI.Relay(url: url, state: "connected", peers: $0) } ?? NodeAPI.Relay(url: url, state: "connecting")
        }
        let port = boundPort.value
        return NodeAPI.Status(
            nodeID: node.nodeID, nodeName: node.configuration.nodeName, version: WireLimits.protocolVersion,
            startedAt: Int64(startedAt.timeIntervalSince1970),
            http: node.configuration.mesh.advertisedURL
                ?? "http://\(LocalNodeFile.localAddress(forBoundHost: node.configuration.host)):\(port)",
            relays: relays,
            directLinks: links.keys.filter { $0.hasPrefix(TransferHub.directLinkPrefix) }.count,
            mesh: membership.map { NodeAPI.Mesh(meshID: $0.meshID, name: $0.name.isEmpty ? nil : $0.name) },
            serving: node.ledger.uploads.list, storage: storage, limits: node.shaper.status, eventStreams: streams.count)
    }
}
