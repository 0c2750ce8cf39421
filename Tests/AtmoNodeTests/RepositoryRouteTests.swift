import AtmoMesh
import AtmoNode
import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

/// Issue 12, the provider: `GET /v1/repositories[/{model_id}]`, every file of a repository
/// served by its own id though only standalone files are in `/v1/models`, and the mesh
/// view `GET /v1/mesh/repositories` of a second node.
@Suite(.timeLimit(.minutes(2)))
struct RepositoryRouteTests {
    static let repositoryID = "atmo-test--tiny"

    @Test func aNodeListsItsRepositoryAndServesEveryFileByItsID() async throws {
        try await withTemporaryDirectory { directory in
            let cache = try HubCacheFixture.make(root: directory.sub("hub"))
            try await withHubNode(state: directory.sub("state"), cache: cache.root) { node in
                let answer = try await Client.get(node.baseURL + HTTPAPI.repositoriesPath)
                #expect(answer.status == 200)
                let list = try WireCoding.decode(HTTPAPI.RepositoryList.self, from: Data(answer.body))
                let repository = try #require(list.repositories.first)
                #expect(list.repositories.count == 1 && list.rejected.isEmpty)
                #expect(repository.modelID == Self.repositoryID && repository.repoID == HubCacheFixture.repoID)
                #expect(repository.revision == HubCacheFixture.commit && repository.refs == ["main"])
                #expect(repository.files.map(\.path) == cache.files.keys.sorted())
                for file in repository.files {
                    #expect(file.blobID == cache.etags[file.path], "\(file.path)")
                    #expect(file.sizeBytes == Int64(cache.files[file.path]?.count ?? -1))
                    // Served by its own id: entry, download, HEAD.
                    #expect(try await Client.get(node.baseURL + "/v1/models/" + file.modelID).status == 200)
                    let download = try await Client.get(node.baseURL + "/v1/models/download/" + file.modelID)
                    #expect(download.status == 200 && download.body == cache.files[file.path], "\(file.path)")
                }
                #expect(!answer.text.contains(directory.path), "no local paths")

                // No file of this repository is usable alone: /v1/models lists none of them.
                let models = try await Client.json(node.baseURL + "/v1/models")
                #expect((models["models"] as? [Any])?.isEmpty == true)

                let one = try await Client.get(node.baseURL + HTTPAPI.repositoriesPath + "/" + Self.repositoryID)
                #expect(try WireCoding.decode(RepositoryEntry.self, from: Data(one.body)) == repository)
                #expect(try await Client.get(node.baseURL + HTTPAPI.repositoriesPath + "/atmo-test--nothing").status == 404)
                #expect(try await Client.get(node.baseURL + HTTPAPI.repositoriesPath + "/..%2Fetc").status == 400)

                // Its own mesh view shows it, installed (once its catalog is published, within a tick).
                var mesh = MeshAPI.RepositoryList(repositories: [])
                _ = try await eventually {
                    mesh = try WireCoding.decode(
                        MeshAPI.RepositoryList.self, from: Data(try await Client.get(node.baseURL + MeshAPI.repositoriesPath).body))
                    return !mesh.repositories.isEmpty
                }
                #expect(mesh.repositories.map(\.repository.modelID) == [Self.repositoryID])
                #expect(mesh.repositories.first?.installed == true && mesh.repositories.first?.providers.isEmpty == true)
                #expect(node.node.localRepositories == [repository])
            }
        }
    }

    @Test func anotherNodeSeesTheRepositoryWithItsProvider() async throws {
        try await withTemporaryDirectory { directory in
            let cache = try HubCacheFixture.make(root: directory.sub("hub"))
            try await withHubNode(state: directory.sub("a"), cache: cache.root) { a in
                try await withMeshNode(stateDirectory: directory.sub("b"), folders: []) { configuration in
                    configuration.mesh.peers = [a.baseURL]
                } _: { b in
                    let url = b.baseURL + MeshAPI.repositoriesPath
                    var seen: MeshAPI.RepositoryList?
                    let arrived = try await eventually {
                        seen = try? WireCoding.decode(MeshAPI.RepositoryList.self, from: Data(try await Client.get(url).body))
                        return seen?.repositories.isEmpty == false
                    }
                    #expect(arrived)
                    let repository = try #require(seen?.repositories.first)
                    #expect(repository.repository.files.count == cache.files.count && !repository.installed)
                    #expect(repository.providers.map(\.nodeID) == [a.node.nodeID])
                    #expect(repository.providers.first?.files == cache.files.count && repository.providers.first?.http == a.baseURL)
                    // Filtered like the models view; one repository by id.
                    let search = try await Client.get(url + "?search=tiny&format=safetensors")
                    #expect(try WireCoding.decode(MeshAPI.RepositoryList.self, from: Data(search.body)).repositories.count == 1)
                    let none = try await Client.get(url + "?format=gguf")
                    #expect(try WireCoding.decode(MeshAPI.RepositoryList.self, from: Data(none.body)).repositories.isEmpty)
                    #expect(try await Client.get(url + "/" + Self.repositoryID).status == 200)
                    #expect(try await Client.get(url + "/nothing-here").status == 404)
                    #expect(b.node.repositories(matching: MeshQuery(text: "tiny")).count == 1)
                    #expect(b.node.meshRepositories(id: Self.repositoryID).first?.completeProviders.map(\.nodeID) == [a.node.nodeID])
                }
            }
        }
    }
}
