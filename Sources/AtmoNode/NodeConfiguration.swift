import AtmoHTTPServer
import AtmoMesh
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation

/// Everything a node needs to run, passed down from the executable (which reads the
/// environment and flags once). Defaults suit `atmo serve` on a laptop.
public struct NodeConfiguration: Sendable {
    /// Address to bind; `0.0.0.0` to serve the LAN, `127.0.0.1` for this machine only.
    public var host: String = "0.0.0.0"
    /// 0 lets the OS choose (tests); the default is `HTTPAPI.defaultPort`.
    public var port: Int = HTTPAPI.defaultPort
    /// Shown to peers; defaults to the host name.
    public var nodeName: String = ProcessInfo.processInfo.hostName
    /// Holds `atmo.sqlite` (hash cache, resume state) and `node.key`.
    public var stateDirectory: String
    /// Where this node keeps the models it pulled (and offers them again).
    public var modelsDirectory: String
    /// Other places models live. `modelsDirectory` is added to these as the pulled root.
    public var scanRoots: ScanRoots
    /// How often the model folders are rescanned for added, changed and removed files.
    public var rescanIntervalSeconds: Double = 30
    /// How long a graceful shutdown (SIGINT/SIGTERM) waits for in-flight downloads before
    /// it cancels them, so a stalled client cannot keep the node from stopping.
    public var shutdownGracePeriodSeconds: Double = 10
    /// Download bodies are read on the connection's event loop while reads are this fast
    /// (the page cache); after a slower read, the rest of that body is read on the node's
    /// file threads. 0 reads every body off the loop (after its first chunk), for disks
    /// that are always slow.
    public var slowFileReadMilliseconds: Int64 = 2
    /// Complete model files are sent with `sendfile` (no copy through the process); false
    /// reads every chunk into a buffer first, like nginx's `sendfile off`, for file systems
    /// whose `sendfile` misbehaves (some network and virtual-machine shares). `--no-sendfile`.
    public var sendfile = true
    /// The node's downloads that transfer at once (each on `pull.connections` connections),
    /// at most `downloadsPerPriority` of each priority; the others wait, `queued`, higher
    /// priorities first, then in the order they were asked for (`DownloadScheduler`).
    /// `--max-downloads`, `"max_downloads"` in config.json.
    public var maxConcurrentDownloads = 2
    /// Downloads of one priority that transfer at once (the seed's rule: one active transfer
    /// per level), within `maxConcurrentDownloads`. `--downloads-per-priority`,
    /// `"downloads_per_priority"` in config.json.
    public var downloadsPerPriority = 1
    /// How long a new download waits for a node of the mesh to offer its model before it
    /// fails; a download queued by an earlier run waits until one does.
    public var waitForProvidersSeconds: Double = 60
    /// Time to the first request head, idle time, connections per client address of the
    /// HTTP server (docs/PROTOCOL.md, "Connection limits").
    public var connections = HTTPConnectionLimits()
    /// Discovery and gossip (docs/MESH.md).
    public var mesh = MeshConfiguration()
    /// How the node's own downloads behave (connections, piece size, timeouts).
    public var pull = PullConfiguration()
    /// The storage limit of pulled models and partials (`--max-storage`), and whether the
    /// mesh's last copy of a model may be evicted (`--evict-last-copies`).
    public var storage = StorageConfiguration()
    /// Bandwidth limits, node-wide and per peer, the size-class policy and adaptive uploads
    /// (`--limit-up` and the other serve flags, `"bandwidth"` in config.json; `atmo limit`
    /// changes them while the node runs).
    public var bandwidth = BandwidthLimits()
    /// Model ids the node follows from the start (`"follow"` in config.json; `atmo follow`
    /// adds more while it runs): newer versions are pulled (`auto`) or shown (`prompt`).
    public var follows: [UpdatesAPI.FollowRequest] = []
    /// Seconds between two looks at the mesh for newer versions of followed models.
    public var updateCheckIntervalSeconds: Double = 2
    /// A Hub-compatible endpoint (`https://huggingface.co`, another node's base URL) that
    /// the node's Hub endpoint mirrors a repository from when neither this node nor the
    /// mesh has it (`--upstream`, `"upstream"` in config.json); nil: such a request is
    /// answered "not found". Mirrors go into the Hugging Face cache the node scans.
    public var hubUpstream: String?
    /// A token for the upstream (`--upstream-token-file`, `"upstream_token_file"` in
    /// config.json), sent as `Authorization: Bearer` to the upstream's own host only (never
    /// to the CDN it redirects to), for gated and private repositories. Never taken from
    /// `HF_TOKEN`: the node serves every client of its LAN, so lending it an account's
    /// access must be explicit.
    public var hubUpstreamToken: String?
    /// The file `hubUpstreamToken` is read from when `atmo serve` starts (`HubUpstreamToken`).
    public var hubUpstreamTokenFile: String?
    /// How long a Hub `GET` of a file only the mesh has waits for the node's own fetch of it
    /// to end or offer pieces before the node streams it as it arrives (docs/PROTOCOL.md,
    /// "Hub-compatible endpoint"); below `huggingface_hub`'s 10 s read timeout.
    public var hubMeshFetchWaitSeconds: Double = 5
    /// Seconds a blob whose upstream download failed is not fetched again (doubling per
    /// further failure, at most an hour); requests meanwhile get 503 with `Retry-After`.
    public var hubUpstreamRetrySeconds: Double = 30
    /// `GET /metrics` answers every client, not only this machine (`--metrics-public`).
    public var metricsPublic = false
    /// The dashboard and control API answer other machines too, with the token of
    /// `{state}/dashboard-token` (`--dashboard-public`, config `dashboard_public`).
    public var dashboardPublic = false
    /// Tests only: the access guard takes every client for another machine (a token can
    /// not be presented from another machine on loopback).
    var dashboardSeesClientsAsRemote = false
    /// Tests only: how long a Hub lookup waits for one of the upstream's read turns before
    /// its client is told the upstream is busy (nil: `HubUpstreamReads`' 30 s).
    var hubUpstreamReadWait: Duration?
    /// A short-lived node of one command (`atmo pull` with no node running): it writes no
    /// `node.json` (no other command attaches to it) and does not resume the downloads an
    /// earlier node left queued.
    public var isTransient = false

    public init(stateDirectory: String, modelsDirectory: String, scanRoots: ScanRoots) {
        self.stateDirectory = stateDirectory
        self.modelsDirectory = modelsDirectory
        self.scanRoots = scanRoots
    }

    /// The defaults under a home folder: state in `~/.atmo`, pulled models in
    /// `~/.atmo/models`, LlamaFarm and Hugging Face folders where they usually are.
    public static func defaults(environment: [String: String], home: String) -> NodeConfiguration {
        let state = environment["ATMO_HOME"] ?? (home + "/.atmo")
        var configuration = NodeConfiguration(
            stateDirectory: state, modelsDirectory: state + "/models",
            scanRoots: ScanRoots.defaults(environment: environment, home: URL(fileURLWithPath: home)))
        // ATMO_RELAY_MODES=compat (or fast_text, ...): the relayed-transfer modes offered and
        // served, for benchmarks and for working around a peer's bug.
        if let modes = environment["ATMO_RELAY_MODES"]?.split(separator: ",").compactMap({ TransferMode(rawValue: String($0)) }),
            !modes.isEmpty
        {
            configuration.mesh.relayTransferModes = modes
        }
        return configuration
    }

    /// The roots actually scanned: the configured ones plus this node's own store.
    public var effectiveScanRoots: ScanRoots {
        var roots = scanRoots
        roots.pulledModels = URL(fileURLWithPath: modelsDirectory)
        roots.excludedFolders += [URL(fileURLWithPath: stateDirectory), URL(fileURLWithPath: modelsDirectory)]
        return roots
    }

    public var databasePath: String { stateDirectory + "/atmo.sqlite" }
}

/// How a node takes part in the mesh.
public struct MeshConfiguration: Sendable {
    /// Base URLs of peers to gossip with whatever discovery finds (`--peer`), for networks
    /// that block multicast.
    public var peers: [String] = []
    /// Advertise and browse `_atmosphere._tcp.local.` with multicast DNS.
    public var lanDiscovery = true
    /// Offer this node to the mesh: advertise it on the LAN and put its HTTP endpoint and
    /// models in its catalog. False for a short-lived consumer (`atmo pull` with no node
    /// running): it browses and gossips, but is not offered as a provider.
    public var offerToMesh = true
    /// The base URL other nodes should use for this one; by default the bound address (for a
    /// wildcard bind, this machine's first non-loopback IPv4 address).
    public var advertisedURL: String?
    /// How often gossip timers (re-publication, expiry) and the inventory are checked.
    public var tickInterval: Duration = .seconds(1)
    /// How often every peer's `/health` is timed.
    public var probeInterval: Duration = .seconds(10)
    /// How long a `/health` probe waits for its whole answer (connect, head and body, however
    /// long the peer goes silent within it) before it counts as failed
    /// (`probe_error: "timeout"`): `--probe-timeout`, `"probe_timeout"` in config.json, within
    /// `probeTimeoutBounds` (`probeTimeout(seconds:)`). Catalog exchanges get as long when it
    /// is above their 10 s (`MeshClient.catalogTimeout(probeTimeout:)`).
    public var probeTimeout: Duration = .seconds(10)
    /// Fan-out, hop limit, intervals and caps of catalog gossip.
    public var gossip = GossipConfiguration()
    /// Relays to keep a connection to (`--relay`, `relays` in config.json, and those of
    /// `{state}/mesh.json`): `ws://`/`wss://` (or `http(s)://`) base URLs, or full
    /// `.../relay/{mesh_id}` URLs. Catalogs go through them to peers HTTP cannot reach.
    public var relays: [String] = []
    /// The chunked-transfer modes this node offers as a consumer and serves as a provider on
    /// relay routes, best first (`fast_binary` needs a relay and a peer that take binary frames).
    public var relayTransferModes: [TransferMode] = [.fastBinary, .fastText, .compat]

    public init() {}

    /// The probe timeouts a node accepts, in seconds: long enough for a loaded node on a slow
    /// link, short enough that a round (which waits for its probes) still comes every minute.
    public static let probeTimeoutBounds: ClosedRange<Double> = 0.5...60

    /// `seconds` as a probe timeout, brought within `probeTimeoutBounds`.
    public static func probeTimeout(seconds: Double) -> Duration {
        let bounded = seconds.isNaN ? 10 : min(max(seconds, probeTimeoutBounds.lowerBound), probeTimeoutBounds.upperBound)
        return .milliseconds(Int64((bounded * 1000).rounded()))
    }
}
