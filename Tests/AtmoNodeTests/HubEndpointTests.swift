import AtmoNode
import AtmoTesting
import Foundation
import Testing

/// The Hub-compatible endpoint on a real node (port 0) serving a Hugging Face cache: the
/// answers and headers `huggingface_hub` reads (docs/PROTOCOL.md, "Hub-compatible endpoint").
struct HubEndpointTests {
    static let repo = HubCacheFixture.repoID
    static let commit = HubCacheFixture.commit

    /// A node offering the fixture's repository, once its Hub endpoint lists it.
    func withFixture(_ body: @Sendable (RunningNode, HubCacheFixture) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try HubCacheFixture.make(root: directory.sub("hub"))
            try await withHubNode(state: directory.sub("state"), cache: fixture.root) { node in
                let listed = try await eventually(timeout: .seconds(60)) {
                    try await RawHTTP.get(port: node.port, "/api/models/\(Self.repo)").status == 200
                }
                try #require(listed, "the node never listed \(Self.repo)")
                try await body(node, fixture)
            }
        }
    }

    @Test func infoNamesTheCommitAndEveryFile() async throws {
        try await withFixture { node, fixture in
            for path in [
                "/api/models/\(Self.repo)", "/api/models/\(Self.repo)/revision/main", "/api/models/\(Self.repo)/revision/\(Self.commit)",
            ] {
                let answer = try await RawHTTP.get(port: node.port, path)
                #expect(answer.status == 200, "\(path)")
                let json = try #require(answer.json)
                #expect(json["sha"] as? String == Self.commit)
                #expect(json["id"] as? String == Self.repo)
                let siblings = try #require(json["siblings"] as? [[String: Any]])
                #expect(Set(siblings.compactMap { $0["rfilename"] as? String }) == Set(fixture.files.keys))
            }
        }
    }

    @Test func treeListsFilesWithTheirHashes() async throws {
        try await withFixture { node, fixture in
            let answer = try await RawHTTP.get(port: node.port, "/api/models/\(Self.repo)/tree/\(Self.commit)?recursive=true&expand=false")
            #expect(answer.status == 200)
            let items = try #require(try JSONSerialization.jsonObject(with: Data(answer.body)) as? [[String: Any]])
            let files = items.filter { $0["type"] as? String == "file" }
            #expect(Set(files.compactMap { $0["path"] as? String }) == Set(fixture.files.keys))
            #expect(items.contains { $0["type"] as? String == "directory" && $0["path"] as? String == "tokenizer" })
            for file in files {
                let path = try #require(file["path"] as? String)
                #expect(file["size"] as? Int == fixture.files[path]?.count)
                if path == "model.safetensors" {
                    let lfs = try #require(file["lfs"] as? [String: Any])
                    #expect(lfs["oid"] as? String == fixture.etags[path])
                } else {
                    #expect(file["oid"] as? String == fixture.etags[path])
                    #expect(file["lfs"] == nil)
                }
            }
        }
    }

    /// `HEAD` gives what `get_hf_file_metadata` needs; `GET` the bytes, ranges included.
    @Test func resolveHasTheHubsHeadersAndBytes() async throws {
        try await withFixture { node, fixture in
            for (path, bytes) in fixture.files {
                let target = "/\(Self.repo)/resolve/main/\(path)"
                let head = try await RawHTTP.head(port: node.port, target)
                #expect(head.status == 200, "\(path)")
                #expect(head.header("X-Repo-Commit") == Self.commit)
                #expect(head.header("X-Linked-Etag") == "\"\(fixture.etags[path] ?? "")\"")
                #expect(head.header("X-Linked-Size") == String(bytes.count))
                #expect(head.header("Content-Length") == String(bytes.count))
                #expect(head.header("Accept-Ranges") == "bytes")
                #expect(head.header("X-Xet-Hash") == nil)
                let get = try await RawHTTP.get(port: node.port, target)
                #expect(get.status == 200)
                #expect(get.body == bytes, "\(path)")
            }
            let weights = try #require(fixture.files["model.safetensors"])
            let range = try await RawHTTP.get(
                port: node.port, "/\(Self.repo)/resolve/\(Self.commit)/model.safetensors", headers: ["Range: bytes=1000-"])
            #expect(range.status == 206)
            #expect(range.header("X-Repo-Commit") == Self.commit)
            #expect(range.body == Array(weights[1000...]))
        }
    }

    /// The Hub's not-found answers, told apart by `X-Error-Code`.
    @Test func missesAreTheHubsErrors() async throws {
        try await withFixture { node, _ in
            let cases: [(String, String)] = [
                ("/atmo-test/nope/resolve/main/config.json", "RepoNotFound"),
                ("/api/models/atmo-test/nope/revision/main", "RepoNotFound"),
                ("/api/models/nope", "RepoNotFound"),
                ("/api/datasets/\(Self.repo)/revision/main", "RepoNotFound"),
                ("/\(Self.repo)/resolve/v9/config.json", "RevisionNotFound"),
                ("/api/models/\(Self.repo)/revision/\(String(repeating: "0", count: 40))", "RevisionNotFound"),
                ("/\(Self.repo)/resolve/main/nope.bin", "EntryNotFound"),
                ("/\(Self.repo)/resolve/main/..%2F..%2Frefs%2Fmain", "EntryNotFound"),
                ("/\(Self.repo)/resolve/main/tokenizer", "EntryNotFound"),
                ("/api/models/\(Self.repo)/tree/main/nope", "EntryNotFound"),
            ]
            for (path, code) in cases {
                let answer = try await RawHTTP.get(port: node.port, path)
                #expect(answer.status == 404, "\(path)")
                #expect(answer.header("X-Error-Code") == code, "\(path)")
                #expect(answer.json?["error"] is String, "\(path)")
                if code == "EntryNotFound" { #expect(answer.header("X-Repo-Commit") == Self.commit, "\(path)") }
            }
            let head = try await RawHTTP.head(port: node.port, "/\(Self.repo)/resolve/main/nope.bin")
            #expect(head.status == 404)
            #expect(head.header("X-Error-Code") == "EntryNotFound")
        }
    }

    /// A revision the parser refuses is named in the answer, not `main` (hostile review
    /// dec07h F1): escaped, as it is also a header.
    @Test func refusedRevisionsAreNamed() async throws {
        try await withFixture { node, _ in
            for (path, shown) in [
                ("/\(Self.repo)/resolve/.hidden/config.json", ".hidden"), ("/api/models/\(Self.repo)/revision/%c3%a9", "%C3%A9"),
                ("/api/models/\(Self.repo)/tree/a%0Ab", "a%0Ab"),
            ] {
                let answer = try await RawHTTP.get(port: node.port, path)
                #expect(answer.status == 404, "\(path)")
                #expect(answer.header("X-Error-Code") == "RevisionNotFound", "\(path)")
                #expect(answer.header("X-Error-Message") == "Invalid rev id: \(shown)", "\(path)")
                #expect(answer.json?["error"] as? String == "Invalid rev id: \(shown)", "\(path)")
            }
        }
    }

    /// A repository named `tree` (or `revision`) answers its info at
    /// `/api/models/{org}/tree`, as on the Hub (hostile review dec07h F8).
    @Test func aRepositoryNamedTreeAnswersItsInfo() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try HubCacheFixture.make(root: directory.sub("hub"))
            try FileManager.default.moveItem(
                atPath: fixture.root + "/models--atmo-test--tiny", toPath: fixture.root + "/models--atmo-test--tree")
            try await withHubNode(state: directory.sub("state"), cache: fixture.root) { node in
                let listed = try await eventually(timeout: .seconds(60)) {
                    try await RawHTTP.get(port: node.port, "/api/models/atmo-test/tree/revision/main").status == 200
                }
                try #require(listed, "the node never listed atmo-test/tree")
                let info = try await RawHTTP.get(port: node.port, "/api/models/atmo-test/tree")
                #expect(info.status == 200)
                #expect(info.json?["id"] as? String == "atmo-test/tree")
                #expect(info.json?["sha"] as? String == Self.commit)
                let tree = try await RawHTTP.get(port: node.port, "/api/models/atmo-test/tree/tree/main")
                #expect(tree.status == 200)
                #expect(tree.body.count > 2)
            }
        }
    }

    /// The node's own routes are untouched; another method on a Hub path is 405.
    @Test func otherRoutesAndMethods() async throws {
        try await withFixture { node, _ in
            #expect(try await RawHTTP.get(port: node.port, "/health").status == 200)
            let unknown = try await RawHTTP.get(port: node.port, "/v1/nope")
            #expect(unknown.status == 404)
            #expect(unknown.header("X-Error-Code") == nil)
            let post = try await RawHTTP.send(port: node.port, RawHTTP.request("POST", "/\(Self.repo)/resolve/main/config.json"))
            #expect(post.status == 405)
            #expect(post.header("Allow") == "GET, HEAD")
            let delete = try await RawHTTP.send(port: node.port, RawHTTP.request("DELETE", "/api/models/\(Self.repo)"))
            #expect(delete.status == 405)
            let head = try await RawHTTP.head(port: node.port, "/api/models/\(Self.repo)/revision/main")
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
        }
    }
}
