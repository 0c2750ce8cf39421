import AtmoProtocol
import Testing

@testable import AtmoMesh

/// Issue 12: one commit is one repository of the mesh, whatever id each node offers it
/// under: `org--tiny` where it is the node's `main`, `org--tiny-{hash}` where a tag names it
/// beside another `main`. Each provider keeps its own entry (its own file ids).
struct MeshCatalogRepositoryCommitTests {
    let t0 = MeshFixtures.start
    typealias F = MeshFixtures
    static let commitX = String(repeating: "a", count: 40)
    static let commitY = String(repeating: "b", count: 40)
    static let hashedID = "org--tiny-1a2b3c4d"

    /// A snapshot of `org/tiny` at `revision` as a node offers it under `modelID`: each
    /// file's id is `{modelID}--{path}`.
    static func snapshot(
        _ modelID: String, _ revision: String, refs: [String],
        files: [(String, Character)] = [("config.json", "1"), ("model.safetensors", "2")],
        repoID: String = "org/tiny"
    ) -> RepositoryEntry {
        RepositoryEntry(
            modelID: modelID, repoID: repoID, revision: revision, refs: refs, name: "tiny", type: "llm", format: "safetensors",
            files: files.map { path, sha in
                RepositoryFile(
                    path: path, sizeBytes: 10, sha256: F.sha(sha), blobID: String(repeating: "c", count: 40), modelID: modelID + "--" + path
                )
            })
    }

    func mesh(_ offers: [(String, [RepositoryEntry])]) -> MeshCatalog {
        var mesh = MeshCatalog()
        for (nodeID, repositories) in offers {
            var catalog = F.catalog(nodeID, at: t0, models: [])
            catalog.repositories = repositories
            mesh.apply(catalog, now: t0)
        }
        return mesh
    }

    @Test func aCommitOneNodeHoldsAsMainAndAnotherAsATagIsOneRepository() throws {
        // Node "a" (first by node id) holds X as tag v1 beside its main Y; node "z" holds X as main.
        let mesh = mesh([
            ("a", [Self.snapshot("org--tiny", Self.commitY, refs: ["main"]), Self.snapshot(Self.hashedID, Self.commitX, refs: ["v1"])]),
            ("z", [Self.snapshot("org--tiny", Self.commitX, refs: ["main"])]),
        ])
        let all = mesh.repositories
        #expect(all.map(\.key.revision) == [Self.commitX, Self.commitY], "two commits, two rows")
        let x = try #require(all.first)
        #expect(x.entry.modelID == "org--tiny", "the plain id: a node holds it as its main")
        #expect(x.entry.refs == ["main", "v1"])
        #expect(x.providers.map(\.nodeID) == ["a", "z"] && x.completeProviders.count == 2)
        // The merged files go by the plain id's names; each provider keeps its own.
        #expect(x.entry.files.map(\.modelID) == ["org--tiny--config.json", "org--tiny--model.safetensors"])
        let config = try #require(x.entry.file(atPath: "config.json"))
        #expect(x.providers(of: config).map { $0.ownFile(config)?.modelID } == [Self.hashedID + "--config.json", "org--tiny--config.json"])
        #expect(x.providers.map(\.entry.modelID) == [Self.hashedID, "org--tiny"])
        // Found by either id, with both providers; the plain id also finds Y.
        let byHash = mesh.repositoryVersions(of: Self.hashedID)
        #expect(byHash.count == 1 && byHash.first?.providers.count == 2 && byHash.first?.entry.modelID == "org--tiny")
        #expect(mesh.repositoryVersions(of: "org--tiny").map(\.key.revision) == [Self.commitX, Self.commitY])
        #expect(mesh.repositoryVersions(of: "org--tiny").allSatisfy { $0.isNamed("org--tiny") })
        // A search matching one node's entry finds the commit with every provider.
        let found = mesh.searchRepositories(MeshQuery(text: "1a2b3c4d"))
        #expect(found.map(\.key.revision) == [Self.commitX] && found.first?.providers.count == 2)
    }

    @Test func aCommitHeldOnlyAsATagKeepsItsHashedID() throws {
        let mesh = mesh([
            ("a", [Self.snapshot(Self.hashedID, Self.commitX, refs: ["v1"])]),
            ("b", [Self.snapshot(Self.hashedID, Self.commitX, refs: ["v1", "release"])]),
        ])
        let x = try #require(mesh.repositories.first)
        #expect(mesh.repositories.count == 1 && x.entry.modelID == Self.hashedID && x.entry.refs == ["release", "v1"])
        #expect(x.entry.files.allSatisfy { $0.modelID.hasPrefix(Self.hashedID + "--") })
    }

    @Test func differentCommitsAndDifferentRepositoriesStayApart() {
        let mesh = mesh([
            ("a", [Self.snapshot("org--tiny", Self.commitX, refs: ["main"])]),
            ("b", [Self.snapshot("org--tiny", Self.commitY, refs: ["main"])]),
            // Repository ids are compared exactly, as the cache names its folders.
            ("c", [Self.snapshot("Org--tiny", Self.commitX, refs: ["main"], repoID: "Org/tiny")]),
        ])
        let all = mesh.repositories
        #expect(all.count == 3 && all.allSatisfy { $0.providers.count == 1 })
        #expect(Set(all.map(\.key)).count == 3)
    }

    @Test func hostileProvidersOfACommitKeepTheirOwnEntries() throws {
        // "a" claims X with another config; "b" offers X twice under two ids; "c" is honest.
        let liar = Self.snapshot("evil", Self.commitX, refs: ["main"], files: [("config.json", "9")])
        let twice = [Self.snapshot(Self.hashedID, Self.commitX, refs: ["v1"]), Self.snapshot("org--tiny", Self.commitX, refs: ["v2"])]
        let mesh = mesh([("a", [liar]), ("b", twice), ("c", [Self.snapshot("org--tiny", Self.commitX, refs: ["main"])])])
        let all = mesh.repositories
        #expect(all.count == 1)
        let x = try #require(all.first)
        #expect(x.providers.map(\.nodeID) == ["a", "b", "c"], "a node offering a commit twice counts once")
        #expect(x.providers[1].entry.modelID == Self.hashedID, "its first entry")
        #expect(!x.entry.refs.contains("v2"))
        #expect(x.entry.modelID == "org--tiny", "the plain id beats another id")
        // A path the providers disagree on (the liar's config) is served by neither.
        #expect(x.entry.file(atPath: "config.json") == nil)
        let weights = try #require(x.entry.file(atPath: "model.safetensors"))
        #expect(weights.modelID == "org--tiny--model.safetensors" && x.providers(of: weights).map(\.nodeID) == ["b", "c"])
        #expect(x.providers[0].ownFile(weights) == nil && x.providers[1].ownFile(weights)?.modelID == Self.hashedID + "--model.safetensors")
        // Every id a provider offers it under finds it.
        #expect(mesh.repositoryVersions(of: "evil").count == 1 && mesh.repositoryVersions(of: Self.hashedID).count == 1)
    }

    @Test func filesOfTheMergedEntryNeverShareAnID() throws {
        // A provider naming two paths by ids another provider uses for other paths.
        var odd = Self.snapshot("org--tiny", Self.commitX, refs: ["main"], files: [("b.json", "1")])
        odd.files[0].modelID = "org--tiny--a.json"
        let mesh = mesh([("a", [Self.snapshot("org--tiny", Self.commitX, refs: ["main"], files: [("a.json", "2")])]), ("b", [odd])])
        let x = try #require(mesh.repositories.first)
        #expect(x.entry.files.map(\.path) == ["a.json"])
    }

    @Test func thePreferredIDIsThePlainOneThenTheHashedForm() {
        #expect(MeshRepository.preferredID(among: [Self.hashedID, "org--tiny"], repoID: "org/tiny") == "org--tiny")
        #expect(MeshRepository.preferredID(among: ["a", Self.hashedID], repoID: "org/tiny") == Self.hashedID)
        #expect(MeshRepository.preferredID(among: ["org--tiny-zzzzzzzz", "org--tiny-x"], repoID: "org/tiny") == "org--tiny-x")
        #expect(MeshRepository.preferredID(among: ["gpt2-0badc0de", "gpt2"], repoID: "gpt2") == "gpt2")
    }
}
