import AtmoProtocol
import Testing

@testable import AtmoMesh

/// Partial holders in the merged mesh view (issue 10): a node pulling a file is a provider
/// of it, flagged `partial`, and a model only partial holders offer is still in the view.
struct MeshCatalogPartialTests {
    let t0 = MeshFixtures.start
    typealias F = MeshFixtures

    static func partial(_ id: String, sha: Character = "a", manifest: Bool = true) -> ModelEntry {
        var entry = F.entry(id, sha: sha)
        if manifest { (entry.pieceSize, entry.piecesSHA256) = (1 << 20, F.sha("f")) }
        return entry
    }

    static func catalog(_ nodeID: String, at timestamp: Int64, models: [ModelEntry] = [], partial: [ModelEntry]) -> ModelCatalog {
        var catalog = F.catalog(nodeID, at: timestamp, models: models)
        catalog.partialModels = partial
        return catalog
    }

    @Test func aPartialHolderIsAProviderFlaggedPartial() {
        var mesh = MeshCatalog()
        mesh.apply(F.catalog("b", at: t0, models: [F.entry("qwen", sha: "a", name: "Qwen whole")]), now: t0)
        mesh.apply(Self.catalog("a", at: t0, partial: [Self.partial("qwen", sha: "a")]), now: t0)
        let models = mesh.models
        #expect(models.count == 1)
        #expect(models[0].providers.map(\.nodeID) == ["a", "b"])
        #expect(models[0].providers.map(\.partial) == [true, false])
        #expect(models[0].isComplete)
        // The entry shown is a complete provider's, even when a partial holder sorts first.
        #expect(models[0].entry.name == "Qwen whole")
    }

    @Test func aModelOnlyPartialHoldersOfferIsInTheViewMarkedIncomplete() throws {
        var mesh = MeshCatalog()
        mesh.apply(Self.catalog("a", at: t0, partial: [Self.partial("fresh")]), now: t0)
        mesh.apply(Self.catalog("b", at: t0, partial: [Self.partial("fresh")]), now: t0)
        let model = try #require(mesh.model(.init(modelID: "fresh", sha256: F.sha("a"))))
        #expect(model.providers.allSatisfy { $0.partial })
        #expect(model.providers.count == 2)
        #expect(!model.isComplete)
        #expect(model.entry.manifestReference != nil)
        #expect(mesh.versions(of: "fresh").count == 1)
        #expect(mesh.search(MeshQuery(text: "fresh")).count == 1)
        // What a node offers whole is what it counts as offering.
        #expect(mesh.models(offeredBy: "a").isEmpty)
    }

    @Test func partialEntriesWithoutAManifestDuplicatedOrAlsoWholeAreLeftOut() {
        var mesh = MeshCatalog()
        let catalog = Self.catalog(
            "a", at: t0, models: [F.entry("whole", sha: "a")],
            partial: [
                Self.partial("whole", sha: "a"),  // offered whole by the same node
                Self.partial("bare", sha: "b", manifest: false),  // no manifest: cannot be checked
                Self.partial("twice", sha: "c"), Self.partial("twice", sha: "c"),
                Self.partial("whole", sha: "d"),  // a newer version being pulled
            ])
        mesh.apply(catalog, now: t0)
        let keys = mesh.models.map { "\($0.key.modelID)@\($0.key.sha256.prefix(1)):\($0.providers.map(\.partial))" }
        #expect(keys == ["twice@c:[true]", "whole@a:[false]", "whole@d:[true]"])
    }

    @Test func anOfferThatEndsLeavesAndACompletedPullBecomesWhole() {
        var mesh = MeshCatalog()
        mesh.apply(F.catalog("seed", at: t0, models: [F.entry("m")]), now: t0)
        mesh.apply(Self.catalog("a", at: t0, partial: [Self.partial("m")]), now: t0)
        #expect(mesh.models[0].providers.map(\.partial) == [true, false])
        // The pull completed: the next catalog lists it whole.
        mesh.apply(F.catalog("a", at: t0 + 10, models: [F.entry("m")]), now: t0 + 10)
        #expect(mesh.models[0].providers.map(\.partial) == [false, false])
        // A pull that stopped: neither.
        mesh.apply(Self.catalog("b", at: t0, partial: [Self.partial("m")]), now: t0)
        mesh.apply(F.catalog("b", at: t0 + 20), now: t0 + 20)
        #expect(mesh.models[0].providers.map(\.nodeID) == ["a", "seed"])
        // Expiry and removal drop partial holders like any provider.
        mesh.apply(Self.catalog("c", at: t0, partial: [Self.partial("only")]), now: t0)
        #expect(mesh.versions(of: "only").count == 1)
        mesh.remove(nodeID: "c")
        #expect(mesh.versions(of: "only").isEmpty)
    }

    @Test func gossipPublishesWhenTheSetOfPartialEntriesChangesOnly() {
        var node = F.node(peers: ["n1", "n2"])
        _ = node.start(now: t0)
        let models = node.ownCatalog.models
        let pushes = node.inventoryChanged(models, partialModels: [Self.partial("pulling")], now: t0 + 1).pushes
        #expect(!pushes.isEmpty)
        #expect(pushes.allSatisfy { $0.catalog.partialModels.map(\.modelID) == ["pulling"] && $0.catalog.models == models })
        #expect(node.inventoryChanged(models, partialModels: [Self.partial("pulling")], now: t0 + 2).isEmpty)
        // The pull completed: whole, and no longer partial, in one publication.
        let done = node.inventoryChanged(models + [F.entry("pulling")], partialModels: [], now: t0 + 3).pushes
        #expect(done.allSatisfy { $0.catalog.partialModels.isEmpty && $0.catalog.models.count == models.count + 1 })
        #expect(!done.isEmpty)
    }

    @Test func gossipCountsPartialEntriesAgainstItsModelBound() {
        var node = F.node(configuration: GossipConfiguration(maxModelsHeld: 3))
        _ = node.start(now: t0)
        let fits = Self.catalog("a", at: t0, models: [F.entry("x")], partial: [Self.partial("y"), Self.partial("z", sha: "b")])
        #expect(node.receive(fits, from: nil, now: t0).learned.count == 1)
        let over = Self.catalog(
            "b", at: t0, models: [F.entry("x")], partial: [Self.partial("y"), Self.partial("z", sha: "b"), Self.partial("w", sha: "c")])
        #expect(node.receive(over, from: nil, now: t0).learned.isEmpty)
        #expect(node.heldModelCount == 3)
    }
}
