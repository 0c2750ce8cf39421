import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

@testable import AtmoNode

/// An upstream whose tree listing names files that cannot sit side by side in a snapshot
/// (`a` and `a/b`) makes no mirror, as such files make no peer's entry (hostile review F6:
/// the node listed both to its clients, mirrored `a` alone and wrote `refs/main` for it).
struct HubUpstreamListingConflictTests {
    static let repo = "atmo-test/conflict"
    static let commit = "89abcdef0123456789abcdef0123456789abcdef"

    @Test func aListingWithAFileInsideAnotherMakesNoMirror() async throws {
        let bytes: [UInt8] = Array("hello".utf8)
        let sha = HubUpstreamStreamTests.sha256(bytes)
        let (repo, commit) = (Self.repo, Self.commit)
        let lfs: @Sendable (String) -> [String: Any] = { path in
            [
                "type": "file", "path": path, "size": bytes.count, "oid": String(repeating: "1", count: 40),
                "lfs": ["oid": sha, "size": bytes.count, "pointerSize": 130],
            ]
        }
        let fake = try await FakeHubUpstream { path, _ in
            switch path {
            case "/api/models/\(repo)/revision/main", "/api/models/\(repo)":
                return .json(["id": repo, "sha": commit, "siblings": []])
            case "/api/models/\(repo)/tree/\(commit)":
                return .json([lfs("a"), lfs("a/b")])
            case "/\(repo)/resolve/\(commit)/a", "/\(repo)/resolve/\(commit)/a/b":
                return .whole(bytes)
            default:
                return nil
            }
        }
        try await withTemporaryDirectory { directory in
            let cache = directory.sub("mirror-hub")
            try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
            try await withHubNode(state: directory.sub("mirror-state"), cache: cache, configure: { $0.hubUpstream = fake.baseURL }) {
                mirror in
                let info = try await RawHTTP.get(port: mirror.port, "/api/models/\(repo)")
                #expect(info.status != 200, "the listing was answered: \(info.status)")
                let file = try await RawHTTP.get(port: mirror.port, "/\(repo)/resolve/main/a")
                #expect(file.status != 200, "a file of the listing was served: \(file.status)")
                #expect(!FileManager.default.fileExists(atPath: cache + "/models--atmo-test--conflict/refs/main"))
            }
        }
        await fake.stop()
    }
}
