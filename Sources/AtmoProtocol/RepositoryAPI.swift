/// The HTTP bodies of repositories (issue 12; docs/PROTOCOL.md, "Repositories").
extension HTTPAPI {
    /// `GET` this node's repositories; `GET .../{model_id}` one of them (404 when unknown).
    public static let repositoriesPath = "/v1/repositories"

    /// `GET /v1/repositories`: `{"repositories":[...]}`.
    public struct RepositoryList: Sendable, Hashable, Codable {
        /// The repositories offered.
        public var repositories: [RepositoryEntry]
        /// Entries of a received list that were refused, with the reason. Never encoded.
        public var rejected: [WireError] = []

        /// A list of `repositories`.
        public init(repositories: [RepositoryEntry]) { self.repositories = repositories }

        public init(from decoder: any Decoder) throws {
            var reader = try FieldReader(decoder)
            let decoded = try reader.lossyArray(RepositoryEntry.self, "repositories", limit: WireLimits.maxRepositoriesPerCatalog)
            repositories = decoded?.values ?? []
            rejected = decoded?.rejected ?? []
        }

        public func encode(to encoder: any Encoder) throws {
            var writer = FieldWriter(encoder)
            try writer.write("repositories", repositories)
            try writer.finish(extra: [:])
        }
    }
}

extension MeshAPI {
    /// `GET` the mesh's repositories, one per (`model_id`, `revision`), filtered by the
    /// query parameters of the models view; `GET .../{model_id}`: its revisions.
    public static let repositoriesPath = "/v1/mesh/repositories"

    /// One repository revision of the mesh: every file some node holds, who offers it
    /// (nodes holding every file first, each with its `files` count), and whether this node
    /// holds all of it.
    public struct Repository: Sendable, Hashable, Codable {
        public var repository: RepositoryEntry
        public var providers: [Provider]
        public var installed: Bool

        public init(repository: RepositoryEntry, providers: [Provider], installed: Bool) {
            self.repository = repository
            self.providers = providers
            self.installed = installed
        }
    }

    /// `GET /v1/mesh/repositories`.
    public struct RepositoryList: Sendable, Hashable, Codable {
        public var repositories: [Repository]
        public init(repositories: [Repository]) { self.repositories = repositories }
    }
}
