import AtmoMesh
import AtmoProtocol

extension MeshNode {
    /// The repositories this node offers: each Hugging Face cache snapshot whose files are
    /// all hashed, with every file (path, size, SHA-256, blob id, the file's own model id).
    public var localRepositories: [RepositoryEntry] { inventory.repositories }

    /// Every repository revision of the mesh (this node's included) matching `query`, each
    /// with its providers: nodes holding every file first, each ranked.
    public func repositories(matching query: MeshQuery = MeshQuery()) -> [MeshAPI.Repository] {
        mesh.repositories(matching: query, localSHA256s: Set(inventory.servedEntries.map(\.sha256)), ownNodeID: nodeID)
    }

    /// Every repository revision other nodes offer, each with every file some node holds
    /// and its providers but this node (nodes holding every file first, each ranked): the
    /// mesh view that `repositories(id:)`, pulls, the Hub endpoint and
    /// `/v1/mesh/repositories` all read.
    func offeredRepositories() -> [MeshAPI.Repository] {
        mesh.repositories(matching: MeshQuery(), localSHA256s: [], ownNodeID: nodeID).filter { !$0.providers.isEmpty }
    }

    /// The revisions of repository `modelID` with each provider's own entry: which node
    /// holds which file (what a pull of a repository, or of some of its files, needs).
    public func meshRepositories(id modelID: String) -> [MeshRepository] {
        mesh.meshRepositories(of: modelID)
    }
}
