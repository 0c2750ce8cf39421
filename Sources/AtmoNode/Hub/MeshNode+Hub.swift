import AtmoProtocol

extension MeshNode {
    /// The Hub-compatible endpoint over this node's repositories and the mesh's.
    func hubRoutes(provider: ProviderRoutes) -> HubRoutes {
        let inventory = self.inventory
        let source = HubRepositorySource(local: { [] }, mesh: { [] }, hasListed: { inventory.hasListed })
        return HubRoutes(provider: provider, source: source)
    }
}
