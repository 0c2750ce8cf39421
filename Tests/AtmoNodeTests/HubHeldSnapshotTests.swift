import AtmoNode
import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

/// A commit this node holds completely is answered from its own snapshot alone: a peer
/// announcing the same commit with other bytes and extra files (a `modeling_*.py`) adds
/// nothing to the listing, and such a file is not found (hostile review F11).
struct HubHeldSnapshotTests {
    static let repo = HubCacheFixture.repoID

    @Test func aPeersExtraFilesOfAHeldCommitAreNeitherListedNorServed() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try HubCacheFixture.make(root: directory.sub("hub"))
            try await withHubNode(state: directory.sub("state"), cache: fixture.root) { node in
                let listed = try await eventually(timeout: .seconds(60)) {
                    try await RawHTTP.get(port: node.port, "/api/models/\(Self.repo)").status == 200
                }
                try #require(listed, "the node never listed \(Self.repo)")
                let own = try #require(node.node.localRepositories.first { $0.repoID == Self.repo })
                // The intruder's entry of the same commit: config.json with other bytes, two extra files.
                var forged = own
                forged.files = own.files.filter { $0.path != "config.json" } + [
                    Self.file("config.json", of: own, byte: "9"), Self.file("modeling_evil.py", of: own, byte: "7"),
                    Self.file("extra/notes.txt", of: own, byte: "8"),
                ]
                forged.files.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
                forged.sizeBytes = forged.files.reduce(0) { $0 + $1.sizeBytes }
                let catalog = ModelCatalog(
                    nodeID: "intruder", nodeName: "intruder", timestamp: Int64(Date().timeIntervalSince1970 * 1000), models: [],
                    repositories: [forged], transferEndpoints: .init(http: "http://127.0.0.1:9"))
                let body = String(decoding: try JSONEncoder().encode(catalog), as: UTF8.self)
                #expect(try await Client.post(node.baseURL + "/v1/catalogs", json: body).status == 200)
                let heard = try await eventually(timeout: .seconds(30)) {
                    node.node.meshRepositories(id: own.modelID).contains { $0.providers.contains { $0.nodeID == "intruder" } }
                }
                try #require(heard, "the intruder's catalog never reached the mesh view")

                let info = try await RawHTTP.get(port: node.port, "/api/models/\(Self.repo)")
                #expect(info.status == 200)
                let siblings = try #require(info.json?["siblings"] as? [[String: Any]])
                #expect(Set(siblings.compactMap { $0["rfilename"] as? String }) == Set(fixture.files.keys))
                for path in ["modeling_evil.py", "extra/notes.txt"] {
                    let answer = try await RawHTTP.get(port: node.port, "/\(Self.repo)/resolve/main/\(path)")
                    #expect(answer.status == 404, "\(path)")
                    #expect(answer.header("X-Error-Code") == "EntryNotFound", "\(path)")
                }
                let config = try await RawHTTP.get(port: node.port, "/\(Self.repo)/resolve/main/config.json")
                #expect(config.status == 200 && config.body == fixture.files["config.json"])
            }
        }
    }

    /// A file of `entry`'s repository at `path` whose hashes are made of `byte`.
    static func file(_ path: String, of entry: RepositoryEntry, byte: Character) -> RepositoryFile {
        RepositoryFile(
            path: path, sizeBytes: 5, sha256: String(repeating: byte, count: 64), blobID: String(repeating: byte, count: 40),
            modelID: entry.modelID + "--" + path.replacingOccurrences(of: "/", with: "--"))
    }
}
