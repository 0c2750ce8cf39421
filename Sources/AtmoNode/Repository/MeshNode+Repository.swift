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

    /// The revisions of repository `modelID` other nodes offer (the one the mesh vouches for
    /// most first), each with every file some node holds and its providers best first (the
    /// nodes holding every file first), from the mesh view. A commit is found by any id a
    /// node offers it under (`{org}--{name}`, or `{org}--{name}-{hash}` for a tag), and
    /// comes with every node offering it.
    public func repositories(id modelID: String) -> [(entry: RepositoryEntry, providers: [MeshAPI.Provider])] {
        mesh.repositoryVersions(of: modelID, localSHA256s: [], ownNodeID: nodeID)
            .filter { !$0.providers.isEmpty }
            .map { ($0.repository, $0.providers) }
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
        // Each file from the nodes holding it (a node that pulled some files offers those),
        // in the order of the mesh view (nodes holding every file first, then by rank), each
        // node asked by its own ids (a node holding the commit as a tag names it otherwise).
        let commit = MeshRepository.Key(entry: entry)
        let ranked = repositories(id: entry.modelID).first { MeshRepository.Key(entry: $0.entry) == commit }?.providers ?? []
        let held = mesh.meshRepositories(of: entry.modelID).first { $0.key == commit }
        let sources: @Sendable (RepositoryFile) -> [PullSource] = { file in
            let holders = Set(held?.providers(of: file).map(\.nodeID) ?? [])
            return Self.sources(of: ranked.filter { holders.contains($0.nodeID) })
        }
        let providers = held?.providerEntries ?? [:]
        let destination = destination ?? .huggingFace(defaultHubCache)
        let outcome: Result<InstalledRepository, TransferError>
        do {
            outcome = try await HTTPClient.withHTTPClient(configuration: PullEngine.httpConfiguration(configuration.pull)) { http in
                let engine = PullEngine(
                    http: http, database: database, configuration: configuration.pull.shaped(by: shaper), logger: logger,
                    channelFactory: relayChannels(), partialOffers: partialOffers
                ).withStorage(storage.admission)
                let puller = RepositoryPuller(
                    engine: engine, store: LocalModelStore(directory: configuration.modelsDirectory), requesterNodeID: nodeID,
                    logger: logger)
                do throws(TransferError) {
                    // Every file in place already needs no source; the puller says so.
                    return .success(
                        try await puller.pull(
                            entry, sources: sources, providers: providers, files: files, into: destination, progress: progress))
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
        let placeholder = ModelEntry(
            modelID: "repository", name: "", type: "", format: "", sizeBytes: 0, sha256: String(repeating: "0", count: 64))
        guard
            case .pull(let plan) = SourcePlanner.plan(
                modelID: placeholder.modelID, versions: [MeshAPI.Model(entry: placeholder, providers: providers, installed: false)])
        else { return [] }
        return plan.sources
    }
}
