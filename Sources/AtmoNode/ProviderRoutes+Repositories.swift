import AtmoMesh
import AtmoProtocol
import Hummingbird

/// Repositories (issue 12): this node's (`GET /v1/repositories[/{model_id}]`) and the
/// mesh's (`GET /v1/mesh/repositories[/{model_id}]`, filtered like the mesh models view).
/// Each file of a repository is downloaded by its own `model_id` on the model routes.
extension ProviderRoutes {
    func registerRepositories(on router: Router<ProviderRequestContext>) {
        router.get(.init(HTTPAPI.repositoriesPath)) { _, _ in
            JSONResponse.make(HTTPAPI.RepositoryList(repositories: self.inventory.repositories))
        }
        router.get(.init(HTTPAPI.repositoriesPath + "/:id")) { _, context in
            let id = try Self.repositoryID(context.parameters.get("id"))
            guard let repository = self.inventory.repository(modelID: id) else {
                guard self.inventory.hasListed else { throw self.notFound() }
                throw HTTPError(.notFound, message: "Repository not found")
            }
            return JSONResponse.make(repository)
        }
        router.get(.init(MeshAPI.repositoriesPath)) { request, _ in
            let query = MeshQuery(
                text: request.uri.queryParameters["search"].map(String.init), type: request.uri.queryParameters["type"].map(String.init),
                format: request.uri.queryParameters["format"].map(String.init),
                capability: request.uri.queryParameters["capability"].map(String.init))
            let repositories = self.mesh.repositories(matching: query, localSHA256s: self.servedSHA256s(), ownNodeID: self.nodeID)
            return JSONResponse.make(MeshAPI.RepositoryList(repositories: repositories))
        }
        router.get(.init(MeshAPI.repositoriesPath + "/:id")) { _, context in
            let id = try Self.repositoryID(context.parameters.get("id"))
            let versions = self.mesh.repositoryVersions(of: id, localSHA256s: self.servedSHA256s(), ownNodeID: self.nodeID)
            guard !versions.isEmpty else { throw HTTPError(.notFound, message: "No node of the mesh offers the repository \(id)") }
            return JSONResponse.make(MeshAPI.RepositoryList(repositories: versions))
        }
    }

    static func repositoryID(_ raw: String?) throws -> String {
        guard let raw, Validation.isValidModelID(raw) else {
            throw HTTPError(.badRequest, message: "Invalid model id: use 1-200 of A-Z a-z 0-9 . _ - (no '..')")
        }
        return raw
    }

    /// The hashes of every file this node serves (repository files included).
    func servedSHA256s() -> Set<String> {
        Set(inventory.servedEntries.map(\.sha256))
    }
}
