import AtmoStore
import Foundation
import Logging
import ServiceLifecycle

/// Keeps this node connected to its relays (`MeshConfiguration.relays` and the relays of
/// `{state}/mesh.json`), one `RelayLink` each, and serves chunked transfers (through relays
/// and the node's WebSocket endpoint), until graceful shutdown. Without a mesh
/// membership, a relay URL that names a mesh (`.../relay/{mesh_id}`) is joined openly; a
/// bare relay URL is skipped with a warning that says what to do.
struct RelayService: Service {
    let links: [RelayLink]
    /// Serves this node's models to the peers that ask through the relays.
    let provider: RelayTransferProvider

    /// The links for `configuration`, or an error that says what is wrong with the mesh files.
    static func links(
        configuration: NodeConfiguration, identity: NodeIdentity, mesh: MeshState, hub: TransferHub, logger: Logger
    ) throws -> [RelayLink] {
        let membership = try RelayIntroduction.fromMembership(
            stateDirectory: configuration.stateDirectory, identity: identity, nodeName: configuration.nodeName)
        var seen = Set<String>()
        var links: [RelayLink] = []
        for relay in (membership?.relays ?? []) + configuration.mesh.relays {
            let introduction: RelayIntroduction
            if let membership {
                introduction = membership.0
            } else if let meshID = RelayAddress.meshID(in: relay) {
                introduction = .open(meshID: meshID, nodeID: identity.nodeID, nodeName: configuration.nodeName)
            } else {
                logger.warning(
                    """
                    relay \(relay) skipped: this node is in no mesh. Run `atmo mesh create NAME` or \
                    `atmo mesh join INVITE`, or give a relay URL that names a mesh (.../relay/MESH_ID).
                    """)
                continue
            }
            guard let url = RelayAddress.webSocketURL(relay, meshID: introduction.meshID) else {
                logger.warning(
                    "relay \(relay) skipped: not a ws://, wss://, http:// or https:// URL of mesh \(introduction.meshID)")
                continue
            }
            guard seen.insert(url).inserted else { continue }
            links.append(RelayLink(url: url, introduction: introduction, mesh: mesh, hub: hub, logger: logger))
        }
        return links
    }

    func run() async throws {
        // A stopping node just closes its connections (each relay tells the others
        // `peer_left`); the transfers in flight end with them. The provider runs with no
        // relay too: the node's own WebSocket endpoint hands it requests as well.
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await provider.run() }
                for link in links {
                    group.addTask { await link.run() }
                }
            }
        }
    }
}
