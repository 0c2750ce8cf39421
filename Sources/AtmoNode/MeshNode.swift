import AsyncHTTPClient
import AtmoHTTPServer
import AtmoMesh
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// An Atmosphere node: it offers this machine's models over HTTP, takes part in the mesh
/// (discovery, catalog gossip, peer measurements) and downloads models from other nodes.
/// `atmo serve` runs one; an app embeds one the same way (see `MeshNode+Library.swift` and
/// the README's quick start).
///
/// Its parts run in one `ServiceGroup` with graceful shutdown: the server stops accepting,
/// in-flight transfers get `shutdownGracePeriodSeconds` to finish, then they are cancelled.
/// Cancelling the task that runs the node stops it at once.
public struct MeshNode: Sendable {
    public let configuration: NodeConfiguration
    public let identity: NodeIdentity
    public let database: StateDatabase
    public let inventory: Inventory
    public let ledger = TransferLedger()
    /// The files this node is pulling, offered piece by piece while they arrive.
    public let partialOffers = PartialOffers()
    let mesh: MeshState
    /// Where relay links and relayed transfers meet.
    let transferHub = TransferHub()
    let downloads: DownloadManager
    /// The storage limit, eviction, pins and uses of the pulled models.
    let storage: NodeStorage
    /// Followed models: newer versions pulled or shown, rollbacks (`atmo follow`).
    let updates: NodeUpdates
    /// The bandwidth limits every transfer of this node follows (`atmo limit` changes them).
    public let shaper: BandwidthShaper
    /// Set by the first `run`: a node's streams and queue serve one run only.
    let started = Shared(false)
    let logger: Logger

    public init(configuration: NodeConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        identity = try NodeIdentity.loadOrCreate(directory: configuration.stateDirectory)
        database = try StateDatabase(path: configuration.databasePath)
        inventory = Inventory(roots: configuration.effectiveScanRoots, database: database, logger: logger)
        let gossip = GossipState<String>(
            nodeID: identity.nodeID, nodeName: configuration.nodeName, transferEndpoints: .init(http: nil), models: [],
            configuration: configuration.mesh.gossip, random: SplitMix64(seed: UInt64.random(in: .min ... .max)),
            peerAddress: { catalog in catalog.transferEndpoints.http.map(MeshClient.trimmed) })
        downloads = DownloadManager(database: database)
        mesh = MeshState(
            gossip: gossip, catalog: MeshCatalog(ttlBoundsSeconds: configuration.mesh.gossip.ttlBoundsSeconds), logger: logger)
        shaper = BandwidthShaper(limits: configuration.bandwidth)
        storage = NodeStorage(
            configuration: configuration, database: database, usage: ledger.usage, mesh: mesh, nodeID: identity.nodeID, logger: logger)
        updates = NodeUpdates(
            database: database, modelsDirectory: configuration.modelsDirectory, downloads: downloads, mesh: mesh, nodeID: identity.nodeID,
            logger: logger)
    }

    public var nodeID: String { identity.nodeID }

    /// Threads reading model files for downloads (each download has at most one read in
    /// flight, so this bounds disk parallelism, not the number of downloads).
    static let fileReaderThreads = 8
    /// How long a cancelled node's graceful shutdown may take before its tasks are cancelled.
    static let cancellationShutdownBound = Duration.seconds(1)

    /// Runs until cancelled or signalled. `onReady` gets the bound port once the server
    /// accepts connections (port 0 in the configuration means "any free port").
    public func run(
        gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint],
        onReady: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        guard !started.exchange(true) else {
            throw StoreError(.conflict, "this MeshNode has run already; create a new one to run again")
        }
        // The clients are shut down on every way out, a configuration refused below included.
        try await withNodeClients { clients in
            try await serve(with: clients, gracefulShutdownSignals: gracefulShutdownSignals, onReady: onReady)
        }
    }

    /// The node's run with `clients`, which the caller shuts down once this returns or throws.
    private func serve(
        with clients: NodeClients, gracefulShutdownSignals: [UnixSignal], onReady: @escaping @Sendable (Int) async -> Void
    ) async throws {
        let (meshHTTP, hubHTTP, pullHTTP, fileReaders) = (clients.mesh, clients.hub, clients.pull, clients.fileReaders)
        let blockingIO = BlockingIO(threadPool: fileReaders)
        let inventoryService = InventoryService(
            inventory: inventory, interval: .milliseconds(Int64(configuration.rescanIntervalSeconds * 1000)), blockingIO: blockingIO,
            logger: logger)
        let boundPort = Shared<Int>(configuration.port)
        let routes = ProviderRoutes(
            inventory: inventory, ledger: ledger, mesh: mesh, downloads: downloads, partialOffers: partialOffers, nodeID: nodeID,
            nodeName: configuration.nodeName, boundPort: boundPort, fileReaders: fileReaders, requestRescan: { inventoryService.requestRescan() })
        let meshClient = MeshClient(http: meshHTTP, timeout: MeshClient.catalogTimeout(probeTimeout: configuration.mesh.probeTimeout))
        let meshService = MeshService(
            mesh: mesh, inventory: inventory, partialOffers: partialOffers, database: database, client: meshClient,
            configuration: configuration.mesh, identity: (nodeID, configuration.nodeName), boundPort: boundPort, host: configuration.host,
            logger: logger)
        let downloadService = DownloadService(
            downloads: downloads, mesh: mesh,
            engine: PullEngine(
                http: pullHTTP, database: database, configuration: configuration.pull.shaped(by: shaper), logger: logger,
                blockingIO: blockingIO,
                channelFactory: relayChannels(), partialOffers: partialOffers
            ).withStorage(storage.admission).withCounters(ledger.metrics),
            modelsDirectory: configuration.modelsDirectory, nodeID: nodeID, requestRescan: { inventoryService.requestRescan() },
            localSHA256s: { [inventory] in Set(inventory.entries.map(\.sha256)) }, resumesQueue: !configuration.isTransient,
            logger: logger,
            slots: DownloadQueueSlots(slots: configuration.maxConcurrentDownloads, perLevel: configuration.downloadsPerPriority),
            waitForProvidersSeconds: configuration.waitForProvidersSeconds,
            repositoryDefaults: RepositoryDefaults(
                hubCache: defaultHubCache.root,
                llamaFarmRoot: configuration.scanRoots.llamaFarmModels?.path ?? NSHomeDirectory() + "/.llamafarm/models"))
        var relayProvider = RelayTransferProvider(
            hub: transferHub, inventory: inventory, partialOffers: partialOffers, ledger: ledger, nodeID: nodeID,
            fileReaders: fileReaders, logger: logger)
        relayProvider.configuration.supportedModes = Set(configuration.mesh.relayTransferModes)
        relayProvider.shaper = shaper
        let relayService = RelayService(
            links: try RelayService.links(
                configuration: configuration, identity: identity, mesh: mesh, hub: transferHub, logger: logger),
            provider: relayProvider)
        let stateDirectory = configuration.stateDirectory
        let host = configuration.host
        let isTransient = configuration.isTransient
        let nodeFile = Shared<LocalNodeFile?>(nil)
        let router = Router(context: ProviderRequestContext.self, options: .autoGenerateHeadEndpoints)
        let dashboard = try dashboard(on: router, relayURLs: relayService.links.map(\.url), boundPort: boundPort, fileReaders: fileReaders)
        routes.register(on: router)
        StorageRoutes(storage: storage, fileReaders: fileReaders).register(on: router)
        LimitsRoutes(shaper: shaper).register(on: router)
        UpdateRoutes(updates: updates, fileReaders: fileReaders).register(on: router)
        metricsRoutes().register(on: router)
        repositoryPullRoutes().register(on: router)
        dashboard.register(on: router)
        let hub = hubRoutes(provider: routes, io: blockingIO, http: hubHTTP)
        hub.register(on: router)  // last: it answers only paths no route took
        routes.routeTable.load(from: router)
        storage.onEviction(rescan: { inventoryService.requestRescan() })
        updates.rescan.value = { inventoryService.requestRescan() }
        let updateService = UpdateService(
            updates: updates, configured: configuration.follows,
            interval: .milliseconds(Int64(max(0.1, configuration.updateCheckIntervalSeconds) * 1000)), blockingIO: blockingIO, logger: logger)
        let usageService = UsageService(usage: ledger.usage, database: database, blockingIO: blockingIO, logger: self.logger)
        let logger = self.logger
        let slowFileRead = TimeAmount.milliseconds(configuration.slowFileReadMilliseconds)
        let sendfile = configuration.sendfile
        let application = Application(
            router: router,
            server: .guardedWebSocketUpgrade(
                configuration: .init(
                    http1: .init(
                        additionalChannelHandlers: [
                            FileBodyPump(slowReadLimit: slowFileRead, sendfile: sendfile, shaper: shaper, metrics: ledger.metrics)
                        ]),
                    // A text frame that is not UTF-8 closes with 1007 (RFC 6455 §8.1).
                    ws: WebSocketServerConfiguration(maxFrameSize: DirectSocketFrames.maxFrameBytes, validateUTF8: true)),
                limits: configuration.connections,
                maxRequestBodyBytes: max(ProviderRoutes.maxControlBodyBytes, ProviderRoutes.maxCatalogPushBytes),
                reservedRequests: .healthAndControl,
                shouldUpgrade: { [transferHub, logger] request, channel, _ in
                    // Only the transfer socket upgrades; every other path stays plain HTTP.
                    guard request.path == HTTPAPI.transferSocketPath else { return .dontUpgrade }
                    UnmaskedFrameGuard.install(on: channel, logger: logger)
                    return .upgrade([:]) { inbound, outbound, _ in
                        try await DirectTransferSocket.serve(inbound: inbound, outbound: outbound, hub: transferHub, logger: logger)
                    }
                }),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "atmo"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                boundPort.value = port
                logger.info("serving models", metadata: ["port": "\(port)", "node_id": "\(routes.nodeID)"])
                let file = LocalNodeFile(host: host, port: port, nodeID: routes.nodeID)
                if isTransient {
                    await onReady(port)
                    return
                }
                do {
                    try file.write(stateDirectory: stateDirectory)
                    nodeFile.value = file
                } catch {
                    logger.warning("could not write \(LocalNodeFile.path(stateDirectory: stateDirectory)): \(error)")
                }
                await onReady(port)
            },
            logger: logger)
        var groupConfiguration = ServiceGroupConfiguration(
            // Shut down in reverse: downloads stop (kept queued), the mesh says goodbye, the
            // relay connections close (the relays tell the others), then the server drains.
            services: [
                .init(service: usageService), .init(service: inventoryService), .init(service: application), .init(service: relayService),
                .init(service: meshService),
                .init(service: downloadService), .init(service: updateService),
            ],
            gracefulShutdownSignals: gracefulShutdownSignals,
            logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(
            Int64(max(0, configuration.shutdownGracePeriodSeconds) * 1000))
        // Peers of earlier runs are known before the server answers its first request.
        await meshService.restorePeers()
        defer { nodeFile.value?.remove(stateDirectory: stateDirectory) }
        do {
            try await ServiceGroup(configuration: groupConfiguration).runShieldedFromCancellation(cutAfter: Self.cancellationShutdownBound)
        } catch {
            // The Hub's mirrors use its client: they stop before the clients do.
            await hub.stopBackgroundWork()
            throw error
        }
        await hub.stopBackgroundWork()
    }

    /// The pull's channels for relayed sources and providers' WebSocket endpoints.
    func relayChannels() -> @Sendable (PullSource) -> (any SourceChannel)? {
        let (hub, mesh, nodeID, modes, shaper) = (transferHub, mesh, nodeID, configuration.mesh.relayTransferModes, shaper)
        let logger = self.logger
        return { source in
            guard let provider = source.nodeID else { return nil }
            switch source.route {
            case .http: return nil
            case .relay:
                return RelaySourceChannel(nodeID: provider, hub: hub, mesh: mesh, localNodeID: nodeID, modes: modes, shaper: shaper)
            case .websocket:
                let direct = DirectSocketLink(url: source.baseURL, nodeID: provider, hub: hub, logger: logger)
                return RelaySourceChannel(
                    nodeID: provider, hub: hub, mesh: mesh, localNodeID: nodeID, direct: direct, modes: modes, shaper: shaper)
            }
        }
    }
}
