import Foundation
import Testing

@testable import AtmoProtocol

/// `model_catalog.repositories` (issue 12): read lossily like `partial_models`, bounded,
/// omitted when empty, never kept twice, counted in the catalog's sizes.
struct RepositoryCatalogTests {
    static func catalogJSON(repositories: String?) -> String {
        var members = [
            "type": "\"model_catalog\"", "node_id": "\"n1\"", "timestamp": "5", "models": "[\(Fixtures.entryJSON())]",
            "transfer_endpoints": #"{"http":"http://10.0.0.2:14750"}"#,
        ]
        if let repositories { members["repositories"] = repositories }
        return Fixtures.object(members)
    }

    static func repositoryJSON(_ id: String, _ fields: [String: String] = [:]) -> String {
        var members = fields
        members["model_id"] = members["model_id"] ?? Fixtures.quoted(id)
        return RepositoryEntryTests.entryJSON(files: [RepositoryEntryTests.fileJSON("config.json")], members)
    }

    static func repository(_ id: String, files: Int = 1) -> RepositoryEntry {
        RepositoryEntry(
            modelID: id, repoID: "org/" + id, revision: RepositoryEntryTests.revision, refs: ["main"],
            files: (0..<files).map { RepositoryEntryTests.file("f\($0).json") })
    }

    @Test func roundTripKeepsRepositoriesApartFromModels() throws {
        let whole = try Fixtures.decode(ModelEntry.self, Fixtures.entryJSON())
        let catalog = ModelCatalog(
            nodeID: "n1", nodeName: "one", timestamp: 7, models: [whole], repositories: [Self.repository("tiny")],
            transferEndpoints: .init(http: "http://10.0.0.2:14750"))
        let text = try Fixtures.encodedText(catalog)
        #expect(text.contains(#""repositories":[{"#))
        let decoded = try Fixtures.decode(ModelCatalog.self, text)
        #expect(decoded == catalog)
        #expect(decoded.repository("tiny")?.files.count == 1)
        #expect(decoded.models.map(\.modelID) == ["yolov8n"])
        #expect(decoded.extra[ModelCatalog.repositoriesField] == nil && decoded.rejectedModels.isEmpty)
        // Through the message path too (what gossip reads).
        guard case .catalog(let message) = try WireCoding.decodeMessage(Data(text.utf8)) else {
            Issue.record("not a catalog")
            return
        }
        #expect(message.repositories == catalog.repositories)
    }

    @Test func aCatalogWithoutTheFieldDecodesAsBeforeAndEncodesWithoutIt() throws {
        let catalog = try Fixtures.decode(ModelCatalog.self, Self.catalogJSON(repositories: nil))
        #expect(catalog.repositories.isEmpty && catalog.models.count == 1)
        #expect(try !Fixtures.encodedText(catalog).contains("repositories"))
        let empty = try Fixtures.decode(ModelCatalog.self, Self.catalogJSON(repositories: "[]"))
        #expect(empty.repositories.isEmpty && empty.extra.isEmpty)
        #expect(try !Fixtures.encodedText(empty).contains("repositories"))
    }

    @Test func badEntriesAreDroppedNotTheCatalog() throws {
        let entries = [
            Self.repositoryJSON("good"),
            RepositoryEntryTests.entryJSON(
                files: [RepositoryEntryTests.fileJSON("config.json"), RepositoryEntryTests.fileJSON("../escape")],
                ["model_id": "\"traversal\""]),
            Self.repositoryJSON("bad-revision", ["revision": "\"main\""]),
            Self.repositoryJSON("yolov8n"),  // already a model of the catalog
            Self.repositoryJSON("good"),  // twice
            "42",
        ]
        let catalog = try Fixtures.decode(ModelCatalog.self, Self.catalogJSON(repositories: "[\(entries.joined(separator: ","))]"))
        #expect(catalog.repositories.map(\.modelID) == ["good"])
        #expect(catalog.models.map(\.modelID) == ["yolov8n"])
        #expect(catalog.rejectedModels.count == 5, "\(catalog.rejectedModels)")
        #expect(catalog.rejectedModels.contains { $0.message.hasPrefix("repositories[1].files[1].path:") }, "\(catalog.rejectedModels)")
        #expect(catalog.rejectedModels.contains { $0.message.contains("yolov8n is already") })
        #expect(catalog.extra.isEmpty)
        let again = try Fixtures.decode(ModelCatalog.self, try Fixtures.encodedText(catalog))
        #expect(again.repositories == catalog.repositories && again.rejectedModels.isEmpty)
    }

    @Test func aHugeArrayCostsTheExtensionNotTheCatalog() throws {
        #expect(WireLimits.maxRepositoriesPerCatalog == 512)
        let many = (0...WireLimits.maxRepositoriesPerCatalog).map { Self.repositoryJSON("r\($0)") }
        let catalog = try Fixtures.decode(ModelCatalog.self, Self.catalogJSON(repositories: "[\(many.joined(separator: ","))]"))
        #expect(catalog.repositories.isEmpty && catalog.models.count == 1)
        #expect(catalog.rejectedModels.map(\.code) == [.tooLarge])
        #expect(catalog.extra.isEmpty)
        let full = try Fixtures.decode(
            ModelCatalog.self, Self.catalogJSON(repositories: "[\(many.dropLast().joined(separator: ","))]"))
        #expect(full.repositories.count == WireLimits.maxRepositoriesPerCatalog)
    }

    @Test(arguments: ["\"text\"", "42", "true", #"{"model_id":"x"}"#])
    func aValueOfTheWrongShapeIsRefusedAndNeverKeptInExtra(_ value: String) throws {
        let catalog = try Fixtures.decode(ModelCatalog.self, Self.catalogJSON(repositories: value))
        #expect(catalog.repositories.isEmpty && catalog.models.count == 1)
        #expect(!catalog.rejectedModels.isEmpty && catalog.extra.isEmpty)
        #expect(try !Fixtures.encodedText(catalog).contains("repositories"))
    }

    @Test func sizesCountTheRepositories() throws {
        let entries = (0..<20).map { Self.repository("repo\($0)", files: 30) }
        let without = ModelCatalog(nodeID: "n1", nodeName: "one", timestamp: 1, models: [], transferEndpoints: .init(http: nil))
        var with = without
        with.repositories = entries
        #expect(with.heldSize >= without.heldSize + entries.reduce(0) { $0 + $1.heldSize })
        #expect(with.repositoryFileCount == 600)
        let encoded = try WireCoding.encode(with).count
        #expect(with.wireSize >= encoded, "estimate \(with.wireSize), encoded \(encoded)")
        #expect(with.wireSize - without.wireSize <= encoded * 2, "not wildly over either")
    }
}
