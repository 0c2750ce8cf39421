import AtmoProtocol
import Testing

@testable import AtmoMesh

/// `models_version` of the dashboard's `mesh` event: it moves when the model list changed,
/// not when a catalog is merely heard again.
struct MeshCatalogModelsRevisionTests {
    @Test func aNewCatalogMovesItAndTheSameOneHeardAgainDoesNot() {
        var catalog = MeshCatalog()
        let start = MeshFixtures.start
        _ = catalog.apply(MeshFixtures.catalog("b", at: start, models: [MeshFixtures.entry("m")]), now: start)
        let first = catalog.modelsRevision
        #expect(first != 0, "a new peer's catalog")
        // Republished with a newer timestamp, same models: the list did not change.
        _ = catalog.apply(MeshFixtures.catalog("b", at: start + 60_000, models: [MeshFixtures.entry("m")]), now: start + 60_000)
        #expect(catalog.modelsRevision == first)
        _ = catalog.apply(
            MeshFixtures.catalog("b", at: start + 61_000, models: [MeshFixtures.entry("m"), MeshFixtures.entry("n")]), now: start + 61_000)
        #expect(catalog.modelsRevision != first, "a new model")
        let second = catalog.modelsRevision
        catalog.remove(nodeID: "b")
        #expect(catalog.modelsRevision != second, "its provider left")
    }
}
