import ArgumentParser
import AtmoRelay
import AtmoRelayServer
import AtmoTransfer
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// `atmo relay`: runs the WebSocket relay of docs/PROTOCOL.md ("The relay").
struct RelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "Run an Atmosphere WebSocket relay.",
        discussion: """
            Peers of a mesh connect to ws://HOST:PORT/relay/<mesh_id>: the founder registers the \
            mesh with its public key and a proof, members join with a token signed by that key, \
            and the relay passes their broadcasts, direct messages and binary frames along. \
            Registrations are kept in <state-dir>/relay.sqlite and survive restarts. \
            GET /health and GET /stats answer JSON. Stops cleanly on Ctrl-C or SIGTERM (exit \
            status 0): new connections are refused and every peer is closed with 1001.
            """)

    @OptionGroup var connections: ConnectionOptions

    @Option(help: "Address to listen on (0.0.0.0: every interface; 127.0.0.1: this machine only).")
    var host = "0.0.0.0"

    @Option(help: "Port to listen on (0: any free port).")
    var port = RelayServerConfiguration.defaultPort

    @Option(name: .customLong("port-file"), help: "Write the bound port to this file once listening (for scripts using --port 0).")
    var portFile: String?

    @Option(name: .customLong("state-dir"), help: "Folder of the relay's registrations (default: $ATMO_HOME/relay or ~/.atmo/relay).")
    var stateDirectory: String?

    @Option(name: .customLong("max-peers-per-mesh"), help: "Most peers one mesh may have connected at once.")
    var maxPeersPerMesh = RelayConfiguration().maxPeersPerMesh

    @Option(name: .customLong("max-meshes"), help: "Most meshes with peers connected at once (one more is refused: RELAY_FULL, 1013).")
    var maxMeshes = RelayConfiguration().maxMeshes

    @Option(
        name: .customLong("max-queued-bytes"),
        help: "Most bytes the send queues of all peers may hold together; at this budget the slowest peers are dropped (1013).")
    var maxQueuedBytes = RelayServerConfiguration.defaultMaxQueuedBytes

    @Option(name: .customLong("max-frame-bytes"), help: "Largest text frame accepted, in bytes (larger: closed with 1009).")
    var maxFrameBytes = RelayConfiguration().maxFrameBytes

    @Option(
        name: .customLong("max-binary-frame-bytes"),
        help: "Largest binary frame accepted, header included, in bytes (larger: closed with 1009).")
    var maxBinaryFrameBytes = RelayConfiguration().maxBinaryFrameBytes

    @Option(
        name: .customLong("log-level"),
        help: "trace, debug, info, notice, warning, error or critical (default: $ATMO_LOG_LEVEL, else info).")
    var logLevel: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0-65535 (0: any free port)") }
        guard maxPeersPerMesh >= 1 else { throw ValidationError("--max-peers-per-mesh must be at least 1") }
        guard (1024...(64 << 20)).contains(maxFrameBytes) else {
            throw ValidationError("--max-frame-bytes must be 1024-\(64 << 20) (1 KiB to 64 MiB)")
        }
        guard (1024...(64 << 20)).contains(maxBinaryFrameBytes) else {
            throw ValidationError("--max-binary-frame-bytes must be 1024-\(64 << 20) (1 KiB to 64 MiB)")
        }
        guard maxMeshes >= 1 else { throw ValidationError("--max-meshes must be at least 1") }
        guard maxQueuedBytes >= max(maxFrameBytes, maxBinaryFrameBytes) else {
            throw ValidationError("--max-queued-bytes must hold at least one frame of the largest kind (\(max(maxFrameBytes, maxBinaryFrameBytes)) bytes)")
        }
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let level = (logLevel ?? environment["ATMO_LOG_LEVEL"]).flatMap { Logger.Level(rawValue: $0) }
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "atmo.relay")
        logger.logLevel = level ?? .info

        var configuration = RelayServerConfiguration(
            host: host, port: port, stateDirectory: stateDirectory.map(absolute) ?? Self.defaultStateDirectory(environment))
        configuration.connections = connections.applied(to: configuration.connections)
        configuration.relay.maxPeersPerMesh = maxPeersPerMesh
        configuration.relay.maxMeshes = maxMeshes
        configuration.maxQueuedBytes = maxQueuedBytes
        configuration.relay.maxFrameBytes = maxFrameBytes
        configuration.relay.maxBinaryFrameBytes = maxBinaryFrameBytes
        configuration.sendQueue.maxBytes = max(configuration.sendQueue.maxBytes, 2 * maxBinaryFrameBytes)

        let portFile = self.portFile.map(absolute)
        let server: RelayServer
        do {
            server = try RelayServer(configuration: configuration, logger: logger) { port in
                if let portFile {
                    try? Data("\(port)\n".utf8).write(to: URL(fileURLWithPath: portFile), options: .atomic)
                }
            }
        } catch {
            Failure(
                message: "cannot open the relay's state in \(configuration.stateDirectory): \(error); choose a folder you can write with --state-dir",
                exitCode: ExitStatus.localStorage
            ).exit()
        }
        let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do {
            try await group.run()
        } catch {
            let explanation = ServeCommand.explain(error, host: host, port: port)
            let message = explanation.replacingOccurrences(of: "the node stopped", with: "the relay stopped")
            Failure(message: message, exitCode: ServeCommand.exitCode(error)).exit()
        }
    }

    /// `$ATMO_HOME/relay`, else `~/.atmo/relay`.
    static func defaultStateDirectory(_ environment: [String: String]) -> String {
        if let home = environment["ATMO_HOME"], !home.isEmpty { return absolute(home) + "/relay" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.atmo/relay"
    }
}
