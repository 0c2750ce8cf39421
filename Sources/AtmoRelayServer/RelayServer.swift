import AtmoHTTPServer
import AtmoProtocol
import AtmoRelay
import AtmoStore
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle

/// The Atmosphere WebSocket relay (`atmo relay`): peers of a mesh connect to
/// `ws://HOST:PORT/relay/{mesh_id}`, register or join (founder proofs and tokens checked
/// with Ed25519), and exchange broadcasts, direct messages and binary frames through it.
/// It also answers `GET /health` and `GET /stats`. See docs/PROTOCOL.md, "The relay".
///
/// A `Service`: run it in a `ServiceGroup` and stop it with a graceful shutdown, which stops
/// accepting, closes every connection with 1001 and returns once they are gone:
///
/// ```swift
/// let relay = try RelayServer(configuration: .init(port: 0, stateDirectory: dir), logger: logger) { port in
///     print("relay on port \(port)")
/// }
/// let group = ServiceGroup(services: [relay], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
/// try await group.run()
/// ```
///
/// Cancelling the task that runs it also shuts it down gracefully (cut after a bound),
/// since cancelling a Hummingbird server outright can crash on a connection it accepted but
/// has not served yet (apple/swift-nio#3481).
public struct RelayServer: Service {
    /// What the server was made with.
    public let configuration: RelayServerConfiguration
    let hub: RelayHub
    let logger: Logger
    let onListening: @Sendable (Int) async -> Void

    /// A relay keeping its registrations in `configuration.databasePath` (created on first
    /// use, loaded now). `onListening` gets the bound port once connections are accepted
    /// (the real one when `configuration.port` is 0). Throws a `StoreError` when the state
    /// directory or its database cannot be opened.
    public init(
        configuration: RelayServerConfiguration, logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws {
        self.configuration = configuration
        self.logger = logger
        self.onListening = onListening
        let database = try StateDatabase(path: configuration.databasePath)
        let registrations = try database.relayMeshes()
        let meshes = Dictionary(registrations.map { ($0.meshID, $0.publicKey) }, uniquingKeysWith: { first, _ in first })
        hub = RelayHub(
            configuration: configuration, database: database, registeredMeshes: meshes, verifier: Ed25519RelayVerifier(),
            logger: logger)
    }

    /// What the relay holds and has relayed so far (the numbers of `/stats`).
    public var statistics: RelayStatistics { hub.statistics }

    /// Serves until a graceful shutdown (or cancellation, which becomes one). A server runs once.
    public func run() async throws {
        guard hub.markStarted() else {
            throw StoreError(.conflict, "this RelayServer has run already; create a new one to run again")
        }
        let router = Router(context: BasicRequestContext.self)
        RelayRoutes.register(on: router, hub: hub)
        let webSocket = WebSocketServerConfiguration(
            maxFrameSize: configuration.maxMessageBytes, autoPing: .disabled, closeTimeout: configuration.closeTimeout,
            validateUTF8: true)  // a text frame that is not UTF-8 closes with 1007 (RFC 6455 §8.1)
        let application = Application(
            router: router,
            server: .guardedWebSocketUpgrade(
                configuration: .init(ws: webSocket), limits: configuration.connections, maxRequestBodyBytes: Self.maxRequestBodyBytes,
                shouldUpgrade: { [hub, logger] request, channel, _ in Self.upgrade(request, channel: channel, hub: hub, logger: logger) }),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "atmo-relay"),
            onServerRunning: { [logger, hub, onListening] channel in
                let port = channel.localAddress?.port ?? 0
                logger.info(
                    "relay listening",
                    metadata: ["port": "\(port)", "meshes_registered": "\(hub.statistics.registeredMeshes)"])
                await onListening(port)
            },
            logger: logger)
        var group = ServiceGroupConfiguration(
            // Shut down in reverse: the maintenance service closes every connection with 1001
            // (and refuses new ones), then the HTTP server stops accepting and drains.
            services: [.init(service: application), .init(service: RelayMaintenance(hub: hub, interval: configuration.tickInterval))],
            logger: logger)
        group.maximumGracefulShutdownDuration = configuration.closeTimeout + .seconds(10)
        try await ServiceGroup(configuration: group).runShieldedFromCancellation(cutAfter: Self.cancellationShutdownBound)
    }

    /// Whether a WebSocket upgrade request is accepted: only `/relay/{mesh_id}` with a valid
    /// mesh id; anything else is refused before upgrading (HTTP 400). Frames above the larger
    /// of the text and binary limits are refused by the WebSocket layer (1009).
    private static func upgrade(
        _ request: HTTPRequest, channel: any Channel, hub: RelayHub, logger: Logger
    ) -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        guard let meshID = RelayRoutes.meshID(ofPath: request.path) else {
            logger.debug("refused a WebSocket upgrade", metadata: ["path": "\(request.path ?? "")"])
            return .dontUpgrade
        }
        UnmaskedFrameGuard.install(on: channel, logger: logger)
        return .upgrade([:]) { inbound, outbound, _ in
            try await hub.serve(meshID: meshID, inbound: inbound, outbound: outbound, channel: channel)
        }
    }

    /// The relay's routes read no request body; a larger announced one with
    /// `Expect: 100-continue` is refused (413) before it is sent.
    static let maxRequestBodyBytes = 64 * 1024

    /// How long a cancelled relay's graceful shutdown may take before its tasks are cancelled.
    static let cancellationShutdownBound = Duration.seconds(2)
}

extension RelayServer: CustomStringConvertible {
    public var description: String { "RelayServer(\(configuration.host):\(configuration.port))" }
}

/// Ticks the state machine (idle peers, silent new connections) until the graceful
/// shutdown, then closes every connection with 1001 and waits until they are gone.
struct RelayMaintenance: Service, CustomStringConvertible {
    let hub: RelayHub
    let interval: Duration

    var description: String { "RelayMaintenance(every \(interval))" }

    func run() async throws {
        await cancelWhenGracefulShutdown { [hub, interval] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard !Task.isCancelled else { break }
                hub.tick()
            }
        }
        guard !Task.isCancelled else { return }
        await hub.drain()
    }
}

