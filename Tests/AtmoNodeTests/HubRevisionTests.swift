import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

/// Revisions other than `main`: a cache whose repository has a tag on an older snapshot
/// offers both, and the Hub endpoint answers each by its ref and by its commit; an older
/// snapshot no ref names is not offered.
struct HubRevisionTests {
    static let repo = HubCacheFixture.repoID
    static let older = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
    static let orphan = "ffeeddccbbaa99887766554433221100ffeeddcc"
    static let oldConfig = Array(#"{"model_type": "gpt2", "n_embd": 8}"#.utf8)

    /// The fixture's cache plus `snapshots/{older}` holding an older `config.json` and the
    /// same weights, named by `refs/v1.0`, and an unnamed `snapshots/{orphan}`.
    static func makeCache(_ root: String) throws -> HubCacheFixture {
        let fixture = try HubCacheFixture.make(root: root)
        let folder = root + "/models--atmo-test--tiny"
        let blob = GitLFSPointer.gitBlobID(of: oldConfig)
        try Data(oldConfig).write(to: URL(fileURLWithPath: folder + "/blobs/" + blob))
        for commit in [older, orphan] {
            try FileManager.default.createDirectory(atPath: folder + "/snapshots/" + commit, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(
                atPath: folder + "/snapshots/\(commit)/config.json", withDestinationPath: "../../blobs/" + blob)
            try FileManager.default.createSymbolicLink(
                atPath: folder + "/snapshots/\(commit)/model.safetensors",
                withDestinationPath: "../../blobs/" + (fixture.etags["model.safetensors"] ?? ""))
        }
        try Data(older.utf8).write(to: URL(fileURLWithPath: folder + "/refs/v1.0"))
        return fixture
    }

    @Test func aTaggedOlderSnapshotIsOfferedAndResolvedByRefAndCommit() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try Self.makeCache(directory.sub("hub"))
            try await withHubNode(state: directory.sub("state"), cache: fixture.root) { node in
                let listed = try await eventually(timeout: .seconds(60)) {
                    try await RawHTTP.get(port: node.port, "/api/models/\(Self.repo)/revision/v1.0").status == 200
                }
                try #require(listed, "the node never listed \(Self.repo)@v1.0")
                for revision in ["v1.0", Self.older] {
                    let info = try await RawHTTP.get(port: node.port, "/api/models/\(Self.repo)/revision/\(revision)")
                    #expect(info.json?["sha"] as? String == Self.older, "\(revision)")
                    let siblings = (info.json?["siblings"] as? [[String: Any]])?.compactMap { $0["rfilename"] as? String }
                    #expect(Set(siblings ?? []) == ["config.json", "model.safetensors"], "\(revision)")
                    let config = try await RawHTTP.get(port: node.port, "/\(Self.repo)/resolve/\(revision)/config.json")
                    #expect(config.status == 200, "\(revision)")
                    #expect(config.body == Self.oldConfig, "\(revision)")
                    #expect(config.header("X-Repo-Commit") == Self.older)
                    let weights = try await RawHTTP.get(port: node.port, "/\(Self.repo)/resolve/\(revision)/model.safetensors")
                    #expect(weights.body == fixture.files["model.safetensors"], "\(revision)")
                    // A file of main only is not in the tag.
                    let missing = try await RawHTTP.get(port: node.port, "/\(Self.repo)/resolve/\(revision)/README.md")
                    #expect(missing.header("X-Error-Code") == "EntryNotFound", "\(revision)")
                }
                // main is still main, and still the one standalone files and ids come from.
                let main = try await RawHTTP.get(port: node.port, "/\(Self.repo)/resolve/main/config.json")
                #expect(main.body == fixture.files["config.json"])
                #expect(main.header("X-Repo-Commit") == HubCacheFixture.commit)
                let orphan = try await RawHTTP.get(port: node.port, "/api/models/\(Self.repo)/revision/\(Self.orphan)")
                #expect(orphan.header("X-Error-Code") == "RevisionNotFound")
                // Two repository entries, distinct ids, the tag's with its ref.
                let list = try await RawHTTP.get(port: node.port, "/v1/repositories")
                let entries = (list.json?["repositories"] as? [[String: Any]]) ?? []
                #expect(entries.count == 2)
                #expect(Set(entries.compactMap { $0["model_id"] as? String }).count == 2)
                let tag = try #require(entries.first { ($0["refs"] as? [String]) == ["v1.0"] })
                #expect(tag["revision"] as? String == Self.older)
                // `{name}-{hash}` ids; a file's id keeps its extension (the store names it so).
                let tagID = try #require(tag["model_id"] as? String)
                #expect(tagID.hasPrefix("atmo-test--tiny-") && tagID != "atmo-test--tiny")
                let files = (tag["files"] as? [[String: Any]]) ?? []
                #expect(files.contains { ($0["model_id"] as? String) == tagID + "--config.json" })
            }
        }
    }
}
