import AtmoProtocol
import Testing

@testable import AtmoMesh

/// Issue 12: the mesh merges the nodes' `repositories` per commit (`repo_id`, `revision`), keeps
/// each provider's own files, forgets them with their node, publishes its own and counts
/// their files against gossip's model bound.
struct MeshCatalogRepositoryTests {
    let t0 = MeshFixtures.start
    typealias F = MeshFixtures
    static let revisionA = String(repeating: "a", count: 40)
    static let revisionB = String(repeating: "b", count: 40)

    static func file(_ path: String, sha: Character = "1") -> RepositoryFile {
        RepositoryFile(
            path: path, sizeBytes: 10, sha256: F.sha(sha), blobID: String(repeating: "c", count: 40),
            modelID: "org--tiny--" + path.replacingOccurrences(of: "/", with: "--"))
    }

    static func repository(
        _ revision: String = revisionA, files: [String] = ["config.json", "model.safetensors"], refs: [String] = ["main"]
    ) -> RepositoryEntry {
        RepositoryEntry(
            modelID: "org--tiny", repoID: "org/tiny", revision: revision, refs: refs, type: "llm", format: "safetensors",
            files: files.map { file($0) })
    }

    static func catalog(_ nodeID: String, at timestamp: Int64, repositories: [RepositoryEntry], models: [ModelEntry] = []) -> ModelCatalog {
        var catalog = F.catalog(nodeID, at: timestamp, models: models)
        catalog.repositories = repositories
        return catalog
    }

    @Test func nodesHoldingPartsOfARevisionMergeIntoOneRepository() throws {
        var mesh = MeshCatalog()
        mesh.apply(Self.catalog("b", at: t0, repositories: [Self.repository(files: ["config.json"], refs: ["v1"])]), now: t0)
        mesh.apply(Self.catalog("a", at: t0, repositories: [Self.repository()]), now: t0)
        mesh.apply(Self.catalog("c", at: t0, repositories: [Self.repository(Self.revisionB)]), now: t0)
        let all = mesh.repositories
        #expect(all.map(\.key.revision) == [Self.revisionA, Self.revisionB] && all.allSatisfy { $0.entry.modelID == "org--tiny" })
        let merged = try #require(all.first)
        #expect(merged.entry.files.map(\.path) == ["config.json", "model.safetensors"])
        #expect(merged.entry.refs == ["main", "v1"] && merged.entry.sizeBytes == 20)
        #expect(merged.providers.map(\.nodeID) == ["a", "b"])
        #expect(merged.completeProviders.map(\.nodeID) == ["a"])
        let weights = try #require(merged.entry.file(atPath: "model.safetensors"))
        #expect(merged.providers(of: weights).map(\.nodeID) == ["a"])
        #expect(merged.providers(of: try #require(merged.entry.file(atPath: "config.json"))).map(\.nodeID) == ["a", "b"])
        #expect(mesh.repositoryVersions(of: "org--tiny").count == 2 && mesh.repositoryVersions(of: "other").isEmpty)
        // Queries read the repository like a model entry.
        #expect(mesh.searchRepositories(MeshQuery(text: "org/tiny", format: "safetensors")).count == 2)
        #expect(mesh.searchRepositories(MeshQuery(type: "vision")).isEmpty)
        // A repository is never one of the mesh's models.
        #expect(mesh.models.isEmpty)
        // Gone with its node; replaced by a newer catalog of it.
        mesh.remove(nodeID: "c")
        #expect(mesh.repositories.count == 1)
        mesh.apply(Self.catalog("a", at: t0 + 1, repositories: []), now: t0 + 1)
        #expect(mesh.repositories.first?.providers.map(\.nodeID) == ["b"])
        #expect(mesh.expire(now: t0 + 3_600_001) == ["a", "b"] && mesh.repositories.isEmpty)
    }

    @Test func aProviderThatDisagreesOnAPathDoesNotHoldTheMergedFile() throws {
        var mesh = MeshCatalog()
        var liar = Self.repository(files: ["config.json"])
        liar.files = [Self.file("config.json", sha: "9")]
        mesh.apply(Self.catalog("a", at: t0, repositories: [Self.repository()]), now: t0)
        mesh.apply(Self.catalog("z", at: t0, repositories: [liar]), now: t0)
        let merged = try #require(mesh.repositories.first)
        #expect(merged.entry.file(atPath: "config.json") == nil, "a path two providers disagree on is served by neither")
        #expect(merged.completeProviders.map(\.nodeID) == ["a"])
    }

    @Test func ownRepositoriesArePublishedAndTheirFilesCountAgainstTheModelBound() {
        var node = F.node(peers: ["p"], configuration: GossipConfiguration(maxModelsHeld: 3))
        _ = node.start(now: t0)
        let published = node.inventoryChanged([F.entry("own-model")], repositories: [Self.repository()], now: t0 + 1).pushes
        #expect(!published.isEmpty && published.allSatisfy { $0.catalog.repositories == [Self.repository()] })
        #expect(node.inventoryChanged([F.entry("own-model")], repositories: [Self.repository()], now: t0 + 2).isEmpty)
        // One model and a repository of two files: 3 entries, within the bound.
        let fits = Self.catalog("a", at: t0, repositories: [Self.repository()], models: [F.entry("x")])
        #expect(fits.entryCount == 3)
        #expect(node.receive(fits, from: nil, now: t0).learned.count == 1)
        let over = Self.catalog("b", at: t0, repositories: [Self.repository(files: ["a", "b", "c", "d"])])
        #expect(node.receive(over, from: nil, now: t0).learned.isEmpty)
    }
}
