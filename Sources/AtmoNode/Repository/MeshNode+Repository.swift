import AsyncHTTPClient
import AtmoMesh
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation

extension MeshNode {
    /// The Hugging Face cache this node installs repositories into by default: the hub it
    /// scans (so a pulled repository is offered to the mesh in turn), else
    /// `HubCache.defaultRoot` of this process's environment.
    public var defaultHubCache: HubCache {
        if let hub = configuration.scanRoots.huggingFaceHub { return HubCache(root: hub.path) }
        return HubCache(root: HubCache.defaultRoot(environment: ProcessInfo.processInfo.environment, home: NSHomeDirectory()))
    }

    /// The repositories of the mesh (other nodes') with `model_id` `modelID`, newest
    /// announcement first per revision, each with its providers best first.
    public func repositories(id modelID: String) -> [(entry: RepositoryEntry, providers: [MeshAPI.Provider])] {
        mesh.repositoryVersions(of: modelID, ownNodeID: nodeID)
    }

    /// Pulls the files of the repository `entry` that `files` takes from the nodes of the mesh
    /// that offer this revision, into `destination` (nil: this node's Hugging Face cache,
    /// `defaultHubCache`), and says where it is and what it consists of. Files already in
    /// place are skipped, blobs already in the cache and files in the node's store are
    /// linked rather than fetched; the others are fetched one by one with the node's pull
    /// engine (swarm pulls, fail-over, relays, resume, storage limit) and installed
    /// (`RepositoryPuller`). Throws `notOffered` when no other node offers the revision.
    public func pullRepository(
        _ entry: RepositoryEntry, files: RepositoryFileSelection = .all, into destination: RepositoryDestination? = nil,
        progress: @escaping @Sendable (RepositoryPullProgress) -> Void = { _ in }
    ) async throws(TransferError) -> InstalledRepository {
        let offered = repositories(id: entry.modelID).first { $0.entry.revision == entry.revision }
        let sources = Self.sources(of: offered?.providers ?? [])
        let destination = destination ?? .huggingFace(defaultHubCache)
        let outcome: Result<InstalledRepository, TransferError>
        do {
            outcome = try await HTTPClient.withHTTPClient(configuration: PullEngine.httpConfiguration(configuration.pull)) { http in
                let engine = PullEngine(
                    http: http, database: database, configuration: configuration.pull.shaped(by: shaper), logger: logger,
                    channelFactory: relayChannels(), partialOffers: partialOffers
                ).withStorage(storage.admission)
                let puller = RepositoryPuller(
                    engine: engine, store: LocalModelStore(directory: configuration.modelsDirectory), requesterNodeID: nodeID, logger: logger)
                do throws(TransferError) {
                    // Every file in place already needs no source; the puller says so.
                    return .success(try await puller.pull(entry, from: sources, files: files, into: destination, progress: progress))
                } catch {
                    return .failure(error)
                }
            }
        } catch {
            throw TransferError(.localError, "the pull's HTTP client failed: \(error)")
        }
        return try outcome.get()
    }

    /// The routes to `providers` a pull takes, best first (`SourcePlanner`'s order).
    static func sources(of providers: [MeshAPI.Provider]) -> [PullSource] {
        let placeholder = ModelEntry(modelID: "repository", name: "", type: "", format: "", sizeBytes: 0, sha256: String(repeating: "0", count: 64))
        guard case .pull(let plan) = SourcePlanner.plan(
            modelID: placeholder.modelID, versions: [MeshAPI.Model(entry: placeholder, providers: providers, installed: false)])
        else { return [] }
        return plan.sources
    }
}

extension MeshState {
    /// Every revision of the repository `modelID` other nodes offer, with its providers
    /// ranked as for models (`PeerRanking`), the revision most providers offer first.
    func repositoryVersions(of modelID: String, ownNodeID: String) -> [(entry: RepositoryEntry, providers: [MeshAPI.Provider])] {
        let catalogs = catalogsForPull()
        return state.withLock { state in
            var byRevision: [String: (entry: RepositoryEntry, stats: [PeerStats])] = [:]
            for catalog in catalogs where catalog.nodeID != ownNodeID {
                guard let entry = catalog.repository(modelID) else { continue }
                var stats = state.peers[catalog.nodeID]?.stats
                    ?? PeerStats(nodeID: catalog.nodeID, nodeName: catalog.nodeName, httpURL: catalog.transferEndpoints.http)
                if let http = catalog.transferEndpoints.http { stats.httpURL = MeshClient.trimmed(http) }
                byRevision[entry.revision, default: (entry, [])].stats.append(stats)
            }
            return byRevision.values.sorted { ($0.stats.count, $1.entry.revision) > ($1.stats.count, $0.entry.revision) }.map { found in
                let providers = PeerRanking.ordered(found.stats).map { stats in
                    MeshAPI.Provider(
                        nodeID: stats.nodeID, nodeName: stats.nodeName, http: stats.httpURL, latencyMs: stats.latencyMs,
                        reliability: stats.reliability, activeTransfers: stats.activeTransfers, transports: stats.transports)
                }
                return (found.entry, providers)
            }
        }
    }
}
