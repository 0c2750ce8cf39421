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
        // The mesh view, one repository id at a time (its index is kept per catalog revision).
        let source = HubRepositorySource(
            local: { inventory.repositories }, meshRevisions: { self.mesh.offeredRevisions(repoID: $0, ownNodeID: self.nodeID) },
            hasListed: { inventory.hasListed }, filling: HubFillingCommits(database: database, logger: logger))
        var routes = HubRoutes(provider: provider, source: source)
        routes.meshFetchWait = .milliseconds(Int64(max(0, configuration.hubMeshFetchWaitSeconds) * 1000))
        let scansHub = configuration.scanRoots.huggingFaceHub != nil
        if scansHub {
            routes.meshFetch = HubMeshFetch(
                pull: { entry, path, received in
                    let installed = try await self.pullRepository(entry, files: .file(path)) { received($0.bytesDone) }
                    guard let file = installed.files.first(where: { $0.path == path }) else {
                        throw HubFetchError(message: "the pull of \(path) installed no such file")
                    }
                    return file.location
                })
        }
        if let upstream = configuration.hubUpstream {
            if scansHub {
                var client = HubUpstreamClient(http: http, baseURL: MeshClient.trimmed(upstream), token: configuration.hubUpstreamToken)
                if let wait = configuration.hubUpstreamReadWait { client.reads = HubUpstreamReads(wait: wait) }
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

}
