import AtmoProtocol

extension MeshService {
    /// Most bytes of JSON this node's own `repositories` take in its catalog: a quarter of
    /// `WireLimits.maxMessageBytes`, so a cache of many large repositories never makes the
    /// catalog too large for peers to take (its models keep the rest).
    static let ownRepositoryBytes = WireLimits.maxMessageBytes / 4

    /// The repositories, in order, while their JSON fits `bytes` (one too large is skipped,
    /// the next may fit), at most `WireLimits.maxRepositoriesPerCatalog`.
    static func repositoriesThatFit(_ repositories: [RepositoryEntry], bytes: Int) -> [RepositoryEntry] {
        var left = bytes
        var kept: [RepositoryEntry] = []
        for repository in repositories where kept.count < WireLimits.maxRepositoriesPerCatalog {
            let size = repository.wireSize
            guard size <= left else { continue }
            left -= size
            kept.append(repository)
        }
        return kept
    }
}
