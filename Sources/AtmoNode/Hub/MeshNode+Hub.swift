import AsyncHTTPClient
import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation

extension MeshNode {
    /// The Hub-compatible endpoint over this node's repositories and the mesh's: files only
    /// the mesh has are fetched with `pullRepository` into the Hugging Face cache this node
    /// scans; misses are mirrored from `configuration.hubUpstream` into the same cache (no
    /// upstream when the node does not scan one: `--no-huggingface`).
    /// `http` reaches the upstream: a client with a read timeout, so an upstream that stops
    /// sending mid-body fails the mirror instead of holding it (and its clients) for hours.
    func hubRoutes(provider: ProviderRoutes, io: BlockingIO, http: HTTPClient) -> HubRoutes {
        let inventory = self.inventory
        // The mesh view, the one lookup `repositories(id:)`, pulls and `/v1/mesh/repositories` read.
        let source = HubRepositorySource(
            local: { inventory.repositories }, mesh: { Self.byOffers(self.offeredRepositories()) },
            hasListed: { inventory.hasListed })
        var routes = HubRoutes(provider: provider, source: source)
        routes.meshFetchWait = .milliseconds(Int64(max(0, configuration.hubMeshFetchWaitSeconds) * 1000))
        let scansHub = configuration.scanRoots.huggingFaceHub != nil
        if scansHub {
            routes.meshFetch = HubMeshFetch(
                pull: { entry, path in _ = try await self.pullRepository(entry, files: .file(path)) },
                providerURL: { entry in
                    self.repositories(id: entry.modelID).first { $0.entry.revision == entry.revision }?.providers.lazy.compactMap(\.http)
                        .first
                })
        }
        if let upstream = configuration.hubUpstream {
            if scansHub {
                let client = HubUpstreamClient(http: http, baseURL: MeshClient.trimmed(upstream))
                routes.upstream = HubUpstream(
                    client: client, cache: defaultHubCache, scratchDirectory: configuration.stateDirectory + "/hub-upstream",
                    io: io, logger: logger, retryAfter: .milliseconds(Int64(max(0, configuration.hubUpstreamRetrySeconds) * 1000)),
                    rescan: { provider.requestRescan() })
            } else {
                logger.warning("--upstream needs the Hugging Face cache (it is off): repositories are not mirrored")
            }
        }
        return routes
    }

    /// The mesh's revisions, the ones more nodes offer first (ties by commit), so a ref
    /// several revisions carry (two nodes' `main`) names the one most nodes offer: commit
    /// order cannot be told from hashes, and no peer's clock is trusted.
    static func byOffers(_ repositories: [MeshAPI.Repository]) -> [RepositoryEntry] {
        repositories.sorted { ($0.providers.count, $1.repository.revision) > ($1.providers.count, $0.repository.revision) }
            .map(\.repository)
    }
}
