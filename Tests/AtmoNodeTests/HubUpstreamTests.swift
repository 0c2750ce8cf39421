import AtmoNode
import AtmoTesting
import Foundation
import Testing

@testable import AtmoNode

/// `--upstream`: a node whose mesh lacks a repository mirrors it from another node's Hub
/// endpoint (a real second node, no fake Hub), once, checked against the upstream's hashes.
struct HubUpstreamTests {
    static let repo = HubCacheFixture.repoID

    @Test func aMissIsMirroredOnceFromTheUpstream() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try HubCacheFixture.make(root: directory.sub("upstream-hub"))
            try await withHubNode(state: directory.sub("upstream-state"), cache: fixture.root) { upstream in
                let listed = try await eventually(timeout: .seconds(60)) {
                    try await RawHTTP.get(port: upstream.port, "/api/models/\(Self.repo)").status == 200
                }
                try #require(listed)
                let mirrorCache = directory.sub("mirror-hub")
                try FileManager.default.createDirectory(atPath: mirrorCache, withIntermediateDirectories: true)
                try await withHubNode(
                    state: directory.sub("mirror-state"), cache: mirrorCache, configure: { $0.hubUpstream = upstream.baseURL }
                ) { mirror in
                    let info = try await RawHTTP.get(port: mirror.port, "/api/models/\(Self.repo)/revision/main")
                    #expect(info.status == 200)
                    #expect(info.json?["sha"] as? String == HubCacheFixture.commit)
                    for (path, bytes) in fixture.files {
                        let answer = try await RawHTTP.get(port: mirror.port, "/\(Self.repo)/resolve/main/\(path)")
                        #expect(answer.status == 200, "\(path)")
                        #expect(answer.header("X-Linked-Etag") == "\"\(fixture.etags[path] ?? "")\"")
                        #expect(answer.body == bytes, "\(path)")
                        // In the mirror's own cache, as a blob named by its etag: installed once
                        // checked, which is also when the client's held-back last byte goes out,
                        // so the blob may land just after the answer ends.
                        let blob = mirrorCache + "/models--atmo-test--tiny/blobs/" + (fixture.etags[path] ?? "")
                        let installed = try await eventually(timeout: .seconds(60)) {
                            FileManager.default.contents(atPath: blob).map { [UInt8]($0) } == bytes
                        }
                        #expect(installed, "\(path)")
                    }
                    // The ref once the walk has every file (it ends after the last install).
                    let referenced = try await eventually(timeout: .seconds(60)) {
                        let ref = FileManager.default.contents(atPath: mirrorCache + "/models--atmo-test--tiny/refs/main")
                        return ref.map { String(decoding: $0, as: UTF8.self) } == HubCacheFixture.commit
                    }
                    #expect(referenced)

                    // Once: the upstream serves no more bytes for more requests of the mirror.
                    let served = try await Self.bytesServed(upstream)
                    for path in fixture.files.keys {
                        #expect(try await RawHTTP.get(port: mirror.port, "/\(Self.repo)/resolve/main/\(path)").status == 200)
                    }
                    #expect(try await Self.bytesServed(upstream) == served)

                    // The upstream's misses are the mirror's.
                    let missing = try await RawHTTP.get(port: mirror.port, "/api/models/atmo-test/nope")
                    #expect(missing.status == 404)
                    #expect(missing.header("X-Error-Code") == "RepoNotFound")
                    let revision = try await RawHTTP.get(port: mirror.port, "/\(Self.repo)/resolve/v9/config.json")
                    #expect(revision.header("X-Error-Code") == "RevisionNotFound")
                }
            }
        }
    }

    static func bytesServed(_ node: RunningNode) async throws -> Int {
        let health = try await RawHTTP.get(port: node.port, "/health")
        return (health.json?["transfers"] as? [String: Any])?["bytes_served"] as? Int ?? -1
    }

    /// An upstream's listing is checked like a peer's: unsafe paths, sizes and hashes fail it.
    @Test func listingItemsAreChecked() throws {
        typealias Item = HubUpstreamJSON.TreeItem
        let sha = String(repeating: "a", count: 64)
        let git = String(repeating: "1", count: 40)
        let good = try HubUpstreamClient.file(Item(path: "a/b.bin", size: 5, oid: git))
        #expect(good == .init(path: "a/b.bin", sizeBytes: 5, blobID: git))
        let lfs = try HubUpstreamClient.file(Item(path: "w.safetensors", size: 9, oid: git, lfs: .init(oid: sha.uppercased(), size: 9)))
        #expect(lfs.blobID == sha)
        #expect(lfs.isLFS)
        let bad: [Item] = [
            Item(path: "../x", size: 5, oid: git),
            Item(path: "/etc/passwd", size: 5, oid: git),
            Item(path: "x", size: -1, oid: git),
            Item(path: "x", size: 5, oid: "zz"),
            Item(path: "x", size: 5, oid: nil),
            Item(path: nil, size: 5, oid: git),
            Item(path: "x", size: nil, oid: git),
            Item(path: "x", size: 5, oid: git, lfs: .init(oid: sha, size: 6)),
            Item(path: "x", size: 5, oid: git, lfs: .init(oid: "abc", size: 5)),
        ]
        for item in bad {
            #expect(throws: HubUpstreamError.self, "\(item)") { try HubUpstreamClient.file(item) }
        }
    }

    @Test func linkHeadersAndMisses() {
        #expect(
            HubUpstreamClient.nextLink(#"<https://hf.co/api/models/x/tree/main?cursor=abc>; rel="next""#)
                == "https://hf.co/api/models/x/tree/main?cursor=abc")
        #expect(HubUpstreamClient.nextLink(#"<https://a>; rel="prev""#) == nil)
        #expect(HubUpstreamClient.encodeSegment("refs/pr/1") == "refs%2Fpr%2F1")
        #expect(HubUpstreamClient.encodeSegment("a b.é") == "a%20b.%C3%A9")
    }
}
