import ArgumentParser
import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import NIOCore
import Foundation

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the node: serve local models over HTTP and join the mesh.",
        discussion: """
            Scans ~/.llamafarm/models, the Hugging Face hub cache ($HF_HUB_CACHE, $HF_HOME/hub or \
            ~/.cache/huggingface/hub), every --folder and the node's own pulled models; hashes each \
            file once (remembered in <state-dir>/atmo.sqlite) and serves the hashed ones at \
            http://HOST:PORT/v1/models. Rescans every --rescan-interval seconds, and soon after a \
            served file changes. Stops cleanly on Ctrl-C or SIGTERM (exit status 0), giving \
            downloads in flight up to 10 s to finish.

            Mesh: the node finds peers on the LAN (DNS-SD, _atmosphere._tcp), through every --peer \
            and the "peers" of <state-dir>/config.json, and through the catalogs of other nodes; it \
            gossips its catalog to them. `atmo models` and `atmo peers` show what it learned.

            Relays: with --relay (or "relays" in config.json, or the relays of a mesh made with \
            `atmo mesh create` or joined with `atmo mesh join`) the node also keeps a WebSocket \
            connection to each relay, where it meets the peers HTTP cannot reach and exchanges \
            catalogs with them.
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var connections: ConnectionOptions
    @OptionGroup var storageLimit: StorageLimitOptions
    @OptionGroup var bandwidth: BandwidthOptions

    @Option(help: "Address to listen on (0.0.0.0: every interface; 127.0.0.1: this machine only).")
    var host = "0.0.0.0"

    @Option(help: "Port to listen on (0: any free port).")
    var port = HTTPAPI.defaultPort

    @Option(name: .customLong("folder"), help: "An extra folder of model files to offer (repeatable).")
    var folders: [String] = []

    @Flag(name: .customLong("no-huggingface"), help: "Do not offer the Hugging Face cache.")
    var noHuggingFace = false

    @Flag(name: .customLong("no-llamafarm"), help: "Do not offer LlamaFarm's models.")
    var noLlamaFarm = false

    @Option(help: "Name shown to peers (default: the host name).")
    var name: String?

    @Option(name: .customLong("rescan-interval"), help: "Seconds between rescans of the model folders.")
    var rescanInterval: Double = 30

    @Option(name: .customLong("peer"), help: "Base URL of a peer to gossip with, e.g. http://192.168.1.20:\(HTTPAPI.defaultPort) (repeatable).")
    var peers: [String] = []

    @Option(
        name: .customLong("relay"),
        help: "A relay to stay connected to, e.g. ws://relay.example:8765 (repeatable; a URL ending in /relay/MESH_ID joins that open mesh).")
    var relays: [String] = []

    @Flag(name: .customLong("no-lan"), help: "Do not advertise or browse the LAN with multicast DNS.")
    var noLAN = false

    @Flag(
        name: .customLong("no-sendfile"),
        help: "Read every chunk of a served file into memory before sending it, like nginx's 'sendfile off' (for file systems whose sendfile misbehaves).")
    var noSendfile = false

    @Flag(
        name: .customLong("metrics-public"),
        help: "Serve GET /metrics to every client, not only this machine (for a Prometheus server elsewhere).")
    var metricsPublic = false

    @Flag(
        name: .customLong("dashboard-public"),
        help: "Serve the dashboard and control API to other machines too, with the token printed at start (default: this machine only).")
    var dashboardPublic = false

    @Option(name: .customLong("advertise-url"), help: "The base URL peers should use for this node (default: http://<first LAN IPv4>:<port>).")
    var advertiseURL: String?

    @Option(name: .customLong("probe-interval"), help: "Seconds between health probes of each peer (3 failed probes in a row drop its models).")
    var probeInterval: Double = 10

    @Option(
        name: .customLong("probe-timeout"),
        help: "Seconds a peer's health probe waits for its whole answer before it counts as failed (0.5-60; default 10; probe_timeout in config.json).")
    var probeTimeout: Double?

    @Option(help: "A JSON settings file (peers, relays, node_name, lan_discovery, advertise_url; default: <state-dir>/config.json if present).")
    var config: String?

    @Option(name: .customLong("port-file"), help: "Write the bound port to this file once serving (for scripts using --port 0).")
    var portFile: String?

    @Option(
        name: .customLong("max-downloads"), help: "The node's downloads that transfer at once (default 2; max_downloads in config.json).")
    var maxDownloads: Int?

    @Option(
        name: .customLong("downloads-per-priority"),
        help: "Downloads of one priority that transfer at once, within --max-downloads (default 1; downloads_per_priority in config.json).")
    var downloadsPerPriority: Int?

    @Option(
        name: .customLong("upstream"),
        help: "A Hub-compatible endpoint (https://huggingface.co, another node's URL) to mirror repositories the mesh lacks from, once, into the Hugging Face cache.")
    var upstream: String?

    @Option(
        name: .customLong("upstream-token-file"),
        help: "A file holding an access token for --upstream (gated or private repositories); sent to the upstream's own host only. HF_TOKEN is not used.")
    var upstreamTokenFile: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0-65535 (0: any free port)") }
        guard rescanInterval > 0 else { throw ValidationError("--rescan-interval must be positive") }
        guard probeInterval >= 0.1 else { throw ValidationError("--probe-interval must be at least 0.1 s") }
        if let probeTimeout, !MeshConfiguration.probeTimeoutBounds.contains(probeTimeout) {
            throw ValidationError("--probe-timeout must be 0.5-60 s")
        }
        if let maxDownloads, maxDownloads < 1 { throw ValidationError("--max-downloads must be at least 1") }
        if let downloadsPerPriority, downloadsPerPriority < 1 { throw ValidationError("--downloads-per-priority must be at least 1") }
        for peer in peers + [advertiseURL, upstream].compactMap({ $0 }) where !Validation.isValidHTTPEndpoint(peer) {
            throw ValidationError("'\(peer)' is not an http:// or https:// base URL")
        }
        for relay in relays {
            if let problem = MeshInvite.relayProblem(relay) { throw ValidationError("--relay: \(problem)") }
        }
    }

    func run() async throws {
        var configuration = store.nodeConfiguration()
        let configPath = config.map(absolute) ?? NodeConfigFile.defaultPath(stateDirectory: configuration.stateDirectory)
        do {
            if let file = try NodeConfigFile.load(path: configPath) {
                file.apply(to: &configuration)
            } else if config != nil {
                Failure(message: "\(configPath) does not exist", exitCode: ExitStatus.usage).exit()
            }
        } catch {
            let failure = Failure(error)
            // A file that is there but not valid is bad usage; one that cannot be read is local.
            Failure(message: "\(error)", exitCode: failure.exitCode == ExitStatus.localStorage ? failure.exitCode : ExitStatus.usage).exit()
        }
        configuration.mesh.peers += peers
        configuration.mesh.relays += relays
        if noLAN { configuration.mesh.lanDiscovery = false }
        if noSendfile { configuration.sendfile = false }
        if metricsPublic { configuration.metricsPublic = true }
        if dashboardPublic { configuration.dashboardPublic = true }
        if let advertiseURL { configuration.mesh.advertisedURL = advertiseURL }
        configuration.mesh.probeInterval = .milliseconds(Int64(probeInterval * 1000))
        if let probeTimeout { configuration.mesh.probeTimeout = MeshConfiguration.probeTimeout(seconds: probeTimeout) }
        configuration.host = host
        configuration.port = port
        configuration.connections = connections.applied(to: configuration.connections)
        configuration.rescanIntervalSeconds = max(0.5, rescanInterval)
        if let name { configuration.nodeName = name }
        configuration.scanRoots.extraFolders += folders.map { URL(fileURLWithPath: absolute($0)) }
        if noHuggingFace { configuration.scanRoots.huggingFaceHub = nil }
        if noLlamaFarm { configuration.scanRoots.llamaFarmModels = nil }
        storageLimit.apply(to: &configuration.storage)
        bandwidth.apply(to: &configuration.bandwidth)
        if let maxDownloads { configuration.maxConcurrentDownloads = maxDownloads }
        if let downloadsPerPriority { configuration.downloadsPerPriority = downloadsPerPriority }
        if let upstream { configuration.hubUpstream = upstream }
        if let upstreamTokenFile { configuration.hubUpstreamTokenFile = absolute(upstreamTokenFile) }
        if let tokenFile = configuration.hubUpstreamTokenFile {
            do {
                configuration.hubUpstreamToken = try HubUpstreamToken.read(path: tokenFile)
            } catch {
                Failure(message: "\(error)", exitCode: ExitStatus.usage).exit()
            }
        }
        let logger = store.makeLogger(label: "atmo.serve", defaultLevel: .info)
        let node: MeshNode
        do {
            node = try MeshNode(configuration: configuration, logger: logger)
        } catch {
            Failure(error, context: "cannot start the node").exit()
        }
        let portFile = self.portFile.map(absolute)
        do {
            try await node.run { port in
                print("Dashboard: \(node.dashboardURL(port: port))")
                fflush(nil)
                if let portFile {
                    try? Data("\(port)\n".utf8).write(to: URL(fileURLWithPath: portFile), options: .atomic)
                }
            }
        } catch {
            Failure(message: Self.explain(error, host: host, port: port), exitCode: Self.exitCode(error)).exit()
        }
    }

    /// A sentence for the failures people hit when starting a server (the port is taken, a
    /// privileged port, an address that is not this machine's), told by the `errno` of the
    /// socket call that failed; `ErrorMapping`'s message otherwise.
    static func explain(_ error: any Error, host: String, port: Int) -> String {
        switch socketErrno(error) {
        case EADDRINUSE: return "port \(port) is in use; choose another with --port (0 picks a free one)"
        case EACCES: return "not allowed to listen on port \(port) (ports below 1024 need privileges); choose another with --port"
        case EADDRNOTAVAIL: return "\(host) is not an address of this machine; choose another with --host (0.0.0.0 listens on all)"
        default: return "the node stopped: \(ErrorMapping.map(error).message)"
        }
    }

    /// The exit status for a server that stopped: 1 when it could not listen, else the
    /// failure's own (`ErrorMapping`).
    static func exitCode(_ error: any Error) -> Int32 {
        socketErrno(error) == nil ? ErrorMapping.map(error).exitCode : ExitStatus.failure
    }

    /// The `errno` of a failed socket call (NIO's `IOError`) in `error`'s chain: files
    /// fail as `StoreError`s, so this is the bind (or listen) of the server.
    private static func socketErrno(_ error: any Error) -> Int32? {
        ErrorMapping.causes(of: error).lazy.compactMap { ($0 as? IOError)?.errnoCode }.first
    }
}
