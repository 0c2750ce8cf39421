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
            // The node serves the file itself here: a loaded machine must not turn the answer
            // into the redirect a slow fetch gets (tested below).
            try await HubMeshPair.with(directory, meshed: { $0.hubMeshFetchWaitSeconds = 120 }) { pair in
                let (fixture, meshed) = (pair.fixture, pair.meshed)
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
                    let blob = pair.meshedCache + "/models--atmo-test--tiny/blobs/" + (fixture.etags[path] ?? "")
                    #expect(FileManager.default.contents(atPath: blob).map { [UInt8]($0) } == bytes, "\(path) in this node's cache")
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
            try await HubMeshPair.with(
                directory,
                meshed: {
                    $0.hubMeshFetchWaitSeconds = 0
                    $0.pull.usesPieceManifests = false
                }
            ) { pair in
                let meshed = pair.meshed
                let weights = try #require(pair.fixture.files["model.safetensors"])
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
