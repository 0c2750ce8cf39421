import AsyncHTTPClient
import AtmoDiscovery
import AtmoMesh
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// The node's part in the mesh, run next to the HTTP server: it publishes this node's
/// catalog, relays and merges the catalogs of others (docs/MESH.md), finds peers on the LAN
/// (DNS-SD) and from the configuration, and measures every peer (`/health` round trips,
/// load) so pulls can pick the best one. Stops on graceful shutdown, saying goodbye on the LAN.
struct MeshService: Service {
    let mesh: MeshState
    let inventory: Inventory
    /// The files this node is pulling: published as the catalog's `partial_models`.
    let partialOffers: PartialOffers
    /// Where peer measurements are kept across restarts (nil: not kept).
    let database: StateDatabase?
    let client: MeshClient
    let configuration: MeshConfiguration
    let identity: (nodeID: String, nodeName: String)
    /// The bound port, known once the server runs (the service waits for it).
    let boundPort: Shared<Int>
    let host: String
    let logger: Logger

    func run() async throws {
        let port = try await waitForPort()
        let endpoint: String? =
            configuration.offerToMesh ? configuration.advertisedURL ?? Self.defaultAdvertisedURL(host: host, port: port) : nil
        let (models, partialModels, repositories) = ownEntries()
        mesh.update { state, now in
            state.gossip.inventoryChanged(models, partialModels: partialModels, repositories: repositories, now: now)
                + state.gossip.endpointsChanged(.init(http: endpoint, websocket: endpoint != nil), now: now)
                + state.gossip.start(now: now)
        }
        addConfiguredPeers()
        logger.info("mesh started", metadata: ["endpoint": "\(endpoint ?? "none")", "peers": "\(configuration.peers.count)"])
        // Graceful shutdown cancels the loops (LAN discovery sends its goodbye as it ends).
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.performActions() }
                group.addTask { await self.every(self.configuration.tickInterval) { self.tick() } }
                group.addTask { await self.probeOnRequest() }
                group.addTask {
                    await self.probePeers()
                    await self.every(self.configuration.probeInterval) {
                        await self.probePeers()
                        await self.savePeers()
                    }
                }
                if self.configuration.lanDiscovery {
                    group.addTask { await self.runLANDiscovery(port: port) }
                }
                if endpoint == nil {
                    // Nobody can push to a node without an endpoint: it pulls instead.
                    group.addTask { await self.every(Self.refreshPullInterval) { await self.refreshPull() } }
                }
            }
        }
        await sayGoodbye()
        await savePeers()
        mesh.finish()
    }

    /// Publishes an empty catalog, so peers drop this node's models now instead of at the
    /// end of their TTL (older peers understand it too: a newer catalog with no models).
    /// Bounded in time: a stopping node does not wait long for slow peers.
    private func sayGoodbye() async {
        let pushes = mesh.update(queue: false) { state, now in state.gossip.inventoryChanged([], now: now) }
        await withDiscardingTaskGroup { group in
            for case .push(let catalog, let peer) in pushes {
                group.addTask {
                    var quick = self.client
                    quick.timeout = .seconds(2)
                    _ = try? await quick.push(HTTPAPI.CatalogBundle(catalogs: [catalog]), to: peer)
                }
            }
        }
    }

    // MARK: - Loops

    private func every(_ interval: Duration, _ body: @Sendable () async -> Void) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            await body()
        }
    }

    private func tick() {
        let (models, partialModels, repositories) = ownEntries()
        mesh.update { state, now in
            state.gossip.inventoryChanged(models, partialModels: partialModels, repositories: repositories, now: now)
                + state.gossip.tick(now: now)
        }
    }

    /// What this node's catalog offers: the inventory's models, and the files being pulled
    /// (`partial_models`, republished when an offer begins or ends, never per piece). A file
    /// both installed and still offered as partial (the pull's end and the rescan cross) is
    /// listed whole only. The repositories (`repositories`) as many as fit
    /// `ownRepositoryBytes` (ModelCatalog+Repositories). Nothing when the node does not
    /// offer to the mesh.
    private func ownEntries() -> (models: [ModelEntry], partialModels: [ModelEntry], repositories: [RepositoryEntry]) {
        guard configuration.offerToMesh else { return ([], [], []) }
        let models = inventory.entries.sorted { $0.modelID < $1.modelID }
        let whole = Set(models.map(\.sha256))
        let partial = partialOffers.entries.filter { !whole.contains($0.sha256) && $0.manifestReference != nil }
        return (
            models, Array(partial.prefix(WireLimits.maxPartialModelsPerCatalog)),
            Self.repositoriesThatFit(inventory.repositories, bytes: Self.ownRepositoryBytes)
        )
    }

    private func performActions() async {
        await withDiscardingTaskGroup { group in
            for await action in mesh.actions {
                if Task.isCancelled { break }
                group.addTask { await self.perform(action) }
            }
        }
    }

    private func perform(_ action: GossipAction<String>) async {
        switch action {
        case .push(let catalog, let peer):
            do {
                try await client.push(HTTPAPI.CatalogBundle(catalogs: [catalog]), to: peer)
            } catch {
                logger.debug("catalog push failed", metadata: ["peer": "\(peer)", "error": "\(error)"])
                mesh.update { state, now in state.gossip.pushFailed(catalog, to: peer, now: now) }
            }
        case .pull(let peer):
            do {
                let catalogs = try await fetchEverything(from: peer)
                mesh.update { state, now in state.gossip.receivePull(catalogs, from: peer, now: now) }
            } catch {
                logger.debug("catalog pull failed", metadata: ["peer": "\(peer)", "error": "\(error)"])
                mesh.update { state, now in state.gossip.pullFailed(from: peer, now: now) }
            }
        case .learned, .forgot:
            break  // applied by MeshState under its lock
        }
    }

    /// How often a node that offers no endpoint asks a peer for everything it knows.
    static let refreshPullInterval: Duration = .seconds(2)

    /// Asks up to two peers of the view for their catalogs (the way a node that cannot be
    /// pushed to stays current).
    private func refreshPull() async {
        let peers = mesh.state.withLock { Array($0.gossip.peers.shuffled().prefix(2)) }
        for peer in peers {
            guard let catalogs = try? await fetchEverything(from: peer) else { continue }
            mesh.update { state, now in state.gossip.receivePull(catalogs, from: peer, now: now) }
        }
    }

    /// `GET /v1/catalogs`, or for an older peer without it, its one catalog built from
    /// `/health` (id, name; within the probe timeout, like every `/health` probe) and `/v1/models`.
    /// Catalogs of the answer that could not be read are remembered and warned about
    /// (`unreadableCatalogs`); those read go through the gossip's budgets, whose refusals are
    /// remembered and warned about as a push's are (`MeshState.update`).
    private func fetchEverything(from peer: String) async throws -> [ModelCatalog] {
        if let bundle = try await client.fetchCatalogs(from: peer) {
            mesh.unreadableCatalogs(bundle.rejected, pulledFrom: peer)
            return bundle.catalogs
        }
        var prober = client
        prober.timeout = TimeAmount(configuration.probeTimeout)
        let (health, _) = try await prober.probe(peer)
        let models = try await client.fetchModels(from: peer)
        let nodeID = health.nodeID.isEmpty ? mesh.announcedNodeID(at: peer) ?? peer : health.nodeID
        return [
            ModelCatalog(
                nodeID: nodeID, nodeName: health.nodeName.isEmpty ? nodeID : health.nodeName, timestamp: MeshState.now(),
                models: models, transferEndpoints: .init(http: peer), protocolVersion: health.protocolVersion)
        ]
    }

    private func runLANDiscovery(port: Int) async {
        let advertisement = LANDiscovery.Advertisement.atmosphereNode(
            nodeName: identity.nodeName, nodeID: identity.nodeID, port: port, capabilities: ["models"])
        var lanConfiguration = LANDiscovery.Configuration()
        lanConfiguration.advertisement = configuration.offerToMesh ? advertisement : nil
        let discovery = LANDiscovery(configuration: lanConfiguration, logger: logger) { event in
            self.lanEvent(event)
        }
        do {
            try await discovery.run()
        } catch {
            logger.warning(
                "LAN discovery is off: \(error). Peers still come from --peer and from gossip.",
                metadata: ["error": "\(error)"])
        }
    }

    /// `http://ADDRESS:PORT` of a discovered node (its `http_port`, else the SRV port),
    /// preferring an IPv4 address.
    static func url(of service: DiscoveredService) -> String? {
        let port = service.httpPort ?? service.port
        guard port > 0, let address = service.addresses.first(where: { !$0.contains(":") }) ?? service.addresses.first else {
            return nil
        }
        return address.contains(":") ? "http://[\(address)]:\(port)" : "http://\(address):\(port)"
    }

    private func waitForPort() async throws -> Int {
        while boundPort.value == 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
        return boundPort.value
    }

    /// The base URL other nodes use: the bound address, or for a wildcard bind this
    /// machine's first non-loopback IPv4 address (loopback when it has none).
    static func defaultAdvertisedURL(host: String, port: Int) -> String {
        var address = host
        if host == "0.0.0.0" || host == "::" || host.isEmpty {
            address = LANDiscovery.localIPv4Addresses(includeLoopback: false).first ?? "127.0.0.1"
        }
        return address.contains(":") ? "http://[\(address)]:\(port)" : "http://\(address):\(port)"
    }
}
