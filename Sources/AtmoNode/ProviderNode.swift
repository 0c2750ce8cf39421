import AtmoProtocol
import AtmoStore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals

/// A node that serves its models: the HTTP API plus the inventory service, run in one
/// `ServiceGroup` with graceful shutdown on SIGINT/SIGTERM (in-flight downloads finish
/// their current write and the server closes cleanly).
public struct ProviderNode: Sendable {
    public let configuration: NodeConfiguration
    public let identity: NodeIdentity
    public let database: StateDatabase
    public let inventory: Inventory
    public let ledger = TransferLedger()
    let logger: Logger

    public init(configuration: NodeConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        identity = try NodeIdentity.loadOrCreate(directory: configuration.stateDirectory)
        database = try StateDatabase(path: configuration.databasePath)
        inventory = Inventory(roots: configuration.effectiveScanRoots, database: database, logger: logger)
    }

    public var nodeID: String { identity.nodeID }

    /// Runs until cancelled or signalled. `onReady` gets the bound port once the server
    /// accepts connections (port 0 in the configuration means "any free port").
    public func run(
        gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint],
        onReady: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let inventoryService = InventoryService(
            inventory: inventory, interval: .milliseconds(Int64(configuration.rescanIntervalSeconds * 1000)), logger: logger)
        let boundPort = SharedPort(configuration.port)
        let routes = ProviderRoutes(
            inventory: inventory, ledger: ledger, nodeID: nodeID, nodeName: configuration.nodeName,
            boundPort: boundPort, requestRescan: { inventoryService.requestRescan() })
        let router = Router()
        routes.register(on: router)
        let logger = self.logger
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "atmo"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                boundPort.value = port
                logger.info("serving models", metadata: ["port": "\(port)", "node_id": "\(routes.nodeID)"])
                await onReady(port)
            },
            logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: inventoryService), .init(service: application)],
                gracefulShutdownSignals: gracefulShutdownSignals,
                logger: logger))
        try await group.run()
    }
}
