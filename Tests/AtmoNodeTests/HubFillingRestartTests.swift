import AtmoMesh
import AtmoNode
import AtmoStore
import AtmoTesting
import Foundation
import Testing

/// The commits the Hub endpoint fills from the mesh outlive a restart: a snapshot left half
/// filled is still listed as the mesh's, and its other files still fetched, on real nodes,
/// sockets and a real state database.
struct HubFillingRestartTests {
    static let repo = HubCacheFixture.repoID

    /// The file names a revision's info lists (`siblings`).
    static func siblings(port: Int) async throws -> [String] {
        let info = try await RawHTTP.get(port: port, "/api/models/\(Self.repo)/revision/main")
        guard info.status == 200, let siblings = info.json?["siblings"] as? [[String: Any]] else { return [] }
        return siblings.compactMap { $0["rfilename"] as? String }.sorted()
    }

    @Test func aHalfFilledSnapshotIsStillFilledFromTheMeshAfterARestart() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try HubCacheFixture.make(root: directory.sub("holder-hub"))
            let all = fixture.files.keys.sorted()
            try await withHubNode(state: directory.sub("holder-state"), cache: fixture.root) { holder in
                let cache = directory.sub("meshed-hub")
                try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
                let peers = [holder.baseURL]
                let configure: @Sendable (inout NodeConfiguration) -> Void = { $0.mesh.peers = peers }
                // One file of the commit, fetched from the mesh: the snapshot here is half filled.
                try await withHubNode(state: directory.sub("meshed-state"), cache: cache, configure: configure) { meshed in
                    let listed = try await eventually(timeout: .seconds(60)) { try await Self.siblings(port: meshed.port) == all }
                    try #require(listed, "the peer's repository never reached this node's Hub endpoint")
                    let config = try await RawHTTP.get(port: meshed.port, "/\(Self.repo)/resolve/main/config.json")
                    // (The body is not checked here: under load this answer once came as 200 with an
                    // empty body, the symptom HubMeshTests showed; the file reaching the cache is
                    // what this test needs.)
                    #expect(config.status == 200)
                }
                let snapshot = cache + "/models--atmo-test--tiny/snapshots/\(HubCacheFixture.commit)"
                #expect(try FileManager.default.contentsOfDirectory(atPath: snapshot) == ["config.json"])
                // Restarted: its own snapshot holds one file, and the listing is still the mesh's.
                try await withHubNode(state: directory.sub("meshed-state"), cache: cache, configure: configure) { meshed in
                    #expect(meshed.node.inventory.repositories.first?.files.map(\.path) == ["config.json"])
                    let listed = try await eventually(timeout: .seconds(60)) { try await Self.siblings(port: meshed.port) == all }
                    let shown = try await Self.siblings(port: meshed.port)
                    #expect(listed, "listed: \(shown)")
                    let weights = try await RawHTTP.get(port: meshed.port, "/\(Self.repo)/resolve/main/model.safetensors")
                    #expect(weights.status == 200)
                    #expect(weights.body == fixture.files["model.safetensors"])
                }
            }
        }
    }

    @Test func theRecordIsBoundedAndKeepsTheMostRecent() throws {
        let directory = try TemporaryDirectory(prefix: "atmo-filling")
        defer { directory.remove() }
        let database = try StateDatabase(path: directory.sub("atmo.sqlite"))
        let keys = (0..<5).map { MeshRepository.Key(repoID: "org/r\($0)", revision: String(repeating: "\($0)", count: 40)) }
        let record = HubFillingCommits(database: database, capacity: 3)
        for key in keys { record.insert(key) }
        record.insert(keys[4])  // known already: no write, no eviction
        #expect(record.commits == Set(keys[2...]))
        #expect(try database.hubFillingCommits(limit: 100).count == 3)
        // A restart reads back the same three; a new commit then evicts the oldest of them.
        let restarted = HubFillingCommits(database: try StateDatabase(path: directory.sub("atmo.sqlite")), capacity: 3)
        #expect(restarted.commits == Set(keys[2...]))
        let sixth = MeshRepository.Key(repoID: "org/r6", revision: String(repeating: "6", count: 40))
        restarted.insert(sixth)
        #expect(restarted.commits == Set([keys[3], keys[4], sixth]))
        #expect(Set(try database.hubFillingCommits(limit: 100).map(\.repoID)) == ["org/r3", "org/r4", "org/r6"])
        // A smaller capacity at the next start reads back only the most recent.
        #expect(HubFillingCommits(database: database, capacity: 1).commits == [sixth])
    }
}
