import AtmoProtocol
import Testing

@testable import AtmoNode

/// A node's own catalog carries as many of its repositories as fit the byte budget, so a
/// cache of many large repositories never makes the catalog too large for its peers.
struct OwnRepositoriesBudgetTests {
    static func repository(_ id: String, files: Int) -> RepositoryEntry {
        RepositoryEntry(
            modelID: id, repoID: "org/" + id, revision: String(repeating: "a", count: 40), refs: ["main"],
            files: (0..<files).map { index in
                RepositoryFile(
                    path: "f\(index).json", sizeBytes: 1, sha256: String(repeating: "b", count: 64),
                    blobID: String(repeating: "c", count: 40), modelID: "\(id)--f\(index).json")
            })
    }

    @Test func repositoriesAreKeptWhileTheyFitAndATooLargeOneIsSkipped() throws {
        let small = Self.repository("small", files: 2)
        let large = Self.repository("large", files: 200)
        let other = Self.repository("other", files: 3)
        let budget = small.wireSize + other.wireSize + 10
        #expect(large.wireSize > budget)
        #expect(MeshService.repositoriesThatFit([small, large, other], bytes: budget).map(\.modelID) == ["small", "other"])
        #expect(MeshService.repositoriesThatFit([small, large, other], bytes: 0).isEmpty)
        // What is kept encodes within the budget.
        let kept = MeshService.repositoriesThatFit([small, large, other], bytes: budget)
        #expect(try kept.reduce(0) { $0 + (try WireCoding.encode($1).count) } <= budget)
        // Never more than the wire's bound, however small they are.
        let many = (0...WireLimits.maxRepositoriesPerCatalog).map { Self.repository("r\($0)", files: 1) }
        #expect(MeshService.repositoriesThatFit(many, bytes: Int.max).count == WireLimits.maxRepositoriesPerCatalog)
        #expect(MeshService.ownRepositoryBytes == WireLimits.maxMessageBytes / 4)
    }
}
