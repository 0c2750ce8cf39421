import AtmoProtocol

/// `atmo models` shows repositories as models (issue 12): one row each, with its files
/// count and total size, beside the single-file models.
extension ModelsCommand {
    /// The JSON of the mesh listing: the models view, plus the repositories when there are.
    struct MeshListing: Encodable {
        var models: [MeshAPI.Model]
        var repositories: [MeshAPI.Repository]

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(models, forKey: .models)
            if !repositories.isEmpty { try container.encode(repositories, forKey: .repositories) }
        }

        enum Key: String, CodingKey { case models, repositories }
    }

    /// The JSON of one peer's listing.
    struct PeerListing: Encodable {
        var models: [ModelEntry]
        var repositories: [RepositoryEntry]

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: MeshListing.Key.self)
            try container.encode(models, forKey: .models)
            if !repositories.isEmpty { try container.encode(repositories, forKey: .repositories) }
        }
    }

    /// The mesh's repositories as the local node knows them; none from a node that
    /// predates them.
    func meshRepositories(_ node: LocalNodeClient) async -> [MeshAPI.Repository] {
        let query = [("search", search), ("type", type), ("format", format), ("capability", capability)]
        return (try? await node.get(MeshAPI.repositoriesPath, query: query, as: MeshAPI.RepositoryList.self))?.repositories ?? []
    }

    /// A row of the mesh table: ID, NAME, TYPE, FORMAT, FILES, SIZE, PEERS, INSTALLED.
    static func row(_ repository: MeshAPI.Repository) -> [String] {
        let entry = repository.repository
        let complete = repository.providers.filter { $0.files == entry.files.count }.count
        let peers = String(repository.providers.count) + (complete == repository.providers.count ? "" : " (\(complete) complete)")
        return [
            entry.modelID, entry.repoID, entry.kind.rawValue, entry.format, String(entry.files.count), formatBytes(entry.sizeBytes),
            peers, repository.installed ? "yes" : "",
        ]
    }

    /// Whether a repository satisfies the filters of `--from` listings.
    func matches(_ repository: RepositoryEntry) -> Bool {
        matches(repository.summaryEntry)
    }
}
