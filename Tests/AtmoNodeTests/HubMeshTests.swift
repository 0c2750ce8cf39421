import AtmoNode
import AtmoTesting
import Foundation
import Testing

/// A repository only another node of the mesh holds, through this node's Hub endpoint: the
/// listing and `HEAD` from the peer's entry, `GET` fetching the file into this node's cache.
struct HubMeshTests {
    static let repo = HubCacheFixture.repoID

    @Test func aFileOnlyThePeerHasIsFetchedAndServed() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try HubCacheFixture.make(root: directory.sub("holder-hub"))
            try await withHubNode(state: directory.sub("holder-state"), cache: fixture.root) { holder in
                let cache = directory.sub("meshed-hub")
                try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
                try await withHubNode(
                    state: directory.sub("meshed-state"), cache: cache,
                    configure: {
                        $0.mesh.peers = [holder.baseURL]
                        // The node serves the file itself here: a loaded machine must not turn
                        // the answer into the redirect a slow fetch gets (tested below).
                        $0.hubMeshFetchWaitSeconds = 120
                    }
                ) { meshed in
                    let listed = try await eventually(timeout: .seconds(60)) {
                        try await RawHTTP.get(port: meshed.port, "/api/models/\(Self.repo)/revision/main").status == 200
                    }
                    try #require(listed, "the peer's repository never reached this node's Hub endpoint")
                    let weights = try #require(fixture.files["model.safetensors"])
                    let head = try await RawHTTP.head(port: meshed.port, "/\(Self.repo)/resolve/main/model.safetensors")
                    #expect(head.status == 200)
                    #expect(head.header("X-Repo-Commit") == HubCacheFixture.commit)
                    #expect(head.header("X-Linked-Size") == String(weights.count))
                    #expect(head.header("X-Linked-Etag") == "\"\(fixture.etags["model.safetensors"] ?? "")\"")
                    for (path, bytes) in fixture.files {
                        let answer = try await RawHTTP.get(port: meshed.port, "/\(Self.repo)/resolve/main/\(path)")
                        #expect(answer.status == 200, "\(path)")
                        #expect(answer.body == bytes, "\(path)")
                        let blob = cache + "/models--atmo-test--tiny/blobs/" + (fixture.etags[path] ?? "")
                        #expect(FileManager.default.contents(atPath: blob).map { [UInt8]($0) } == bytes, "\(path) in this node's cache")
                    }
                }
            }
        }
    }

    /// A fetch that does not finish within the wait and offers no pieces (this node's pulls
    /// use no piece manifests) is still answered by this node, once the file is checked: a
    /// redirect would hand the client a provider's unchecked bytes (hostile review F5).
    /// (With pieces it streams as they are checked: `HubMeshStreamTests`.)
    @Test func aSlowFetchWithoutPiecesIsServedByThisNodeNeverRedirected() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try HubCacheFixture.make(root: directory.sub("holder-hub"))
            try await withHubNode(state: directory.sub("holder-state"), cache: fixture.root) { holder in
                let cache = directory.sub("meshed-hub")
                try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
                try await withHubNode(
                    state: directory.sub("meshed-state"), cache: cache,
                    configure: {
                        $0.mesh.peers = [holder.baseURL]
                        $0.hubMeshFetchWaitSeconds = 0
                        $0.pull.usesPieceManifests = false
                    }
                ) { meshed in
                    let listed = try await eventually(timeout: .seconds(60)) {
                        try await RawHTTP.get(port: meshed.port, "/api/models/\(Self.repo)/revision/main").status == 200
                    }
                    try #require(listed)
                    let weights = try #require(fixture.files["model.safetensors"])
                    let target = "/\(Self.repo)/resolve/main/model.safetensors"
                    // No piece offer can exist: the client still gets its bytes from this node
                    // (checked), never a redirect to a provider's unchecked ones.
                    let first = try await RawHTTP.get(port: meshed.port, target)
                    #expect(first.status == 200)
                    #expect(first.header("Location") == nil)
                    #expect(first.header("X-Repo-Commit") == HubCacheFixture.commit)
                    #expect(first.body == weights)
                    let served = try await eventually(timeout: .seconds(60)) {
                        let answer = try await RawHTTP.get(port: meshed.port, target)
                        return answer.status == 200 && answer.body == weights
                    }
                    #expect(served)
                }
            }
        }
    }
}
