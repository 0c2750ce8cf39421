import AtmoProtocol
import Foundation

/// `{state}/config.json` (or `atmo serve --config FILE`): settings that outlive one command
/// line, chiefly the static peers of a network that blocks multicast. Every field is
/// optional; flags given on the command line add to or override them.
///
/// ```json
/// {"peers": ["http://192.168.1.20:14750"], "node_name": "studio", "lan_discovery": true,
///  "advertise_url": "http://192.168.1.10:14750", "relays": ["ws://relay.example:8765"]}
/// ```
public struct NodeConfigFile: Sendable, Hashable, Codable {
    public var peers: [String]?
    public var nodeName: String?
    public var lanDiscovery: Bool?
    public var advertiseURL: String?
    public var relays: [String]?
    /// The storage limit of pulled models: `"50GB"`, `"5 GiB"` or a number of bytes.
    public var maxStorage: ByteCountSetting?
    /// Evict even the last copy of a model the mesh knows of.
    public var evictLastCopies: Bool?
    /// Bandwidth limits (`BandwidthLimits`): `{"up": "20MB/s", "per_peer": {"down": "5MB/s"}, ...}`.
    public var bandwidth: BandwidthLimits?
    /// Downloads that transfer at once (`NodeConfiguration.maxConcurrentDownloads`).
    public var maxDownloads: Int?
    /// Downloads of one priority that transfer at once (`downloadsPerPriority`; default 1).
    public var downloadsPerPriority: Int?
    /// The Hub-compatible endpoint repositories are mirrored from (`hubUpstream`).
    public var upstream: String?
    /// A file holding the upstream's token (`hubUpstreamTokenFile`; `HubUpstreamToken`).
    public var upstreamTokenFile: String?
    /// Followed models: `[{"model_id": "yolo.pt", "mode": "auto"}]` (mode `auto` or `prompt`).
    public var follow: [UpdatesAPI.FollowRequest]?
    /// The dashboard answers other machines too, with its token (`--dashboard-public`).
    public var dashboardPublic: Bool?
    /// Seconds a peer's `/health` probe waits for its whole answer (`MeshConfiguration.probeTimeout`;
    /// brought within 0.5-60).
    public var probeTimeout: Double?

    enum CodingKeys: String, CodingKey {
        case peers, nodeName = "node_name", lanDiscovery = "lan_discovery", advertiseURL = "advertise_url", relays
        case maxStorage = "max_storage", evictLastCopies = "evict_last_copies"
        case bandwidth
        case maxDownloads = "max_downloads", downloadsPerPriority = "downloads_per_priority"
        case upstream, upstreamTokenFile = "upstream_token_file"
        case follow
        case dashboardPublic = "dashboard_public"
        case probeTimeout = "probe_timeout"
    }

    public static func defaultPath(stateDirectory: String) -> String { stateDirectory + "/config.json" }

    /// The file at `path`; nil when it does not exist. Throws with the path and the JSON
    /// problem when it exists but cannot be used.
    public static func load(path: String) throws -> NodeConfigFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigFileError(path: path, problem: "cannot be read")
        }
        do {
            return try JSONDecoder().decode(NodeConfigFile.self, from: data)
        } catch {
            throw ConfigFileError(path: path, problem: "is not valid: \(error)")
        }
    }

    /// Applies the file to `configuration`.
    public func apply(to configuration: inout NodeConfiguration) {
        if let peers { configuration.mesh.peers += peers }
        if let nodeName { configuration.nodeName = nodeName }
        if let lanDiscovery { configuration.mesh.lanDiscovery = lanDiscovery }
        if let advertiseURL { configuration.mesh.advertisedURL = advertiseURL }
        if let relays { configuration.mesh.relays += relays }
        if let maxStorage { configuration.storage.limitBytes = maxStorage.bytes }
        if let evictLastCopies { configuration.storage.evictLastCopies = evictLastCopies }
        if let bandwidth { configuration.bandwidth = bandwidth }
        if let maxDownloads { configuration.maxConcurrentDownloads = max(1, maxDownloads) }
        if let downloadsPerPriority { configuration.downloadsPerPriority = max(1, downloadsPerPriority) }
        if let upstream, Validation.isValidHTTPEndpoint(upstream) { configuration.hubUpstream = upstream }
        if let upstreamTokenFile { configuration.hubUpstreamTokenFile = upstreamTokenFile }
        if let follow { configuration.follows += follow }
        if let dashboardPublic { configuration.dashboardPublic = dashboardPublic }
        if let probeTimeout { configuration.mesh.probeTimeout = MeshConfiguration.probeTimeout(seconds: probeTimeout) }
    }
}

/// A configuration file that exists but cannot be used.
public struct ConfigFileError: Error, CustomStringConvertible {
    public var path: String
    public var problem: String
    public var description: String { "\(path) \(problem)" }
}
