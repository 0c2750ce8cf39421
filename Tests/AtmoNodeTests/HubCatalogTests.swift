import AtmoMesh
import AtmoProtocol
import AtmoStore
import Foundation
import Testing

@testable import AtmoNode

/// `HubCatalog`: which snapshot answers a repository id and revision, tree listings, and
/// the Hub's field values in the bodies, with no I/O.
struct HubCatalogTests {
    static let commitA = String(repeating: "a", count: 40)
    static let commitB = String(repeating: "b", count: 40)
    static let lfsSHA = String(repeating: "c", count: 64)

    static func file(_ path: String, lfs: Bool = false) -> RepositoryFile {
        let sha = lfs ? lfsSHA : String(repeating: "d", count: 64)
        return RepositoryFile(
            path: path, sizeBytes: 10, sha256: sha, blobID: lfs ? sha : String(repeating: "e", count: 40),
            modelID: "org--name--" + path.replacingOccurrences(of: "/", with: "--"))
    }

    static func entry(_ revision: String, refs: [String], files: [String] = ["config.json"]) -> RepositoryEntry {
        RepositoryEntry(modelID: "org--name", repoID: "org/name", revision: revision, refs: refs, files: files.map { file($0) })
    }

    @Test func refsAndCommitsResolve() throws {
        let catalog = HubCatalog(local: [Self.entry(Self.commitA, refs: ["main"])], mesh: [Self.entry(Self.commitB, refs: ["v2"])])
        #expect(try catalog.resolve(repoID: "org/name", revision: nil).get().entry.revision == Self.commitA)
        #expect(try catalog.resolve(repoID: "org/name", revision: "main").get().isLocal)
        let v2 = try? catalog.resolve(repoID: "org/name", revision: "v2").get()
        #expect(v2?.entry.revision == Self.commitB)
        #expect(v2?.isLocal == false)
        #expect(try catalog.resolve(repoID: "org/name", revision: Self.commitB).get().entry.revision == Self.commitB)
        #expect(catalog.resolve(repoID: "org/name", revision: "v3") == .failure(.revision))
        #expect(catalog.resolve(repoID: "org/name", revision: String(repeating: "f", count: 40)) == .failure(.revision))
        #expect(catalog.resolve(repoID: "org/other", revision: "main") == .failure(.repository))
        // A ref name is never matched as a prefix of a commit, nor a repository id by case.
        #expect(catalog.resolve(repoID: "org/name", revision: "aaaa") == .failure(.revision))
        #expect(catalog.resolve(repoID: "Org/Name", revision: "main") == .failure(.repository))
    }

    @Test func localSnapshotWinsOverTheMeshs() throws {
        let catalog = HubCatalog(local: [Self.entry(Self.commitA, refs: ["main"])], mesh: [Self.entry(Self.commitB, refs: ["main"])])
        #expect(try catalog.resolve(repoID: "org/name", revision: "main").get().entry.revision == Self.commitA)
    }

    /// A snapshot this node fills one file at a time from the mesh lists the mesh's files
    /// of the same commit; only the files it has are served from here.
    @Test func aPartlyHeldSnapshotListsTheMeshsFiles() throws {
        let own = Self.entry(Self.commitA, refs: ["main"], files: ["config.json"])
        let theirs = Self.entry(Self.commitA, refs: ["main"], files: ["config.json", "model.bin"])
        for revision in ["main", Self.commitA] {
            let catalog = HubCatalog(local: [own], mesh: [theirs], fillingFromMesh: [.init(entry: own)])
            let found = try catalog.resolve(repoID: "org/name", revision: revision).get()
            #expect(found.entry.files.count == 2)
            #expect(found.localFile("config.json") != nil)
            #expect(found.localFile("model.bin") == nil)
        }
        let meshOnly = try HubCatalog(local: [], mesh: [theirs]).resolve(repoID: "org/name", revision: "main").get()
        #expect(!meshOnly.isLocal)
    }

    @Test func treeListings() throws {
        let entry = Self.entry(Self.commitA, refs: ["main"], files: ["a/b/c.bin", "a/x.json", "config.json"])
        let recursive = try #require(HubCatalog.treeItems(entry, path: nil, recursive: true))
        #expect(recursive.map(\.path) == ["a", "a/b", "a/b/c.bin", "a/x.json", "config.json"])
        let top = try #require(HubCatalog.treeItems(entry, path: nil, recursive: false))
        #expect(top == [.folder(path: "a"), .file(Self.file("config.json"))])
        let folder = try #require(HubCatalog.treeItems(entry, path: "a", recursive: false))
        #expect(folder.map(\.path) == ["a/b", "a/x.json"])
        #expect(HubCatalog.treeItems(entry, path: "config.json", recursive: true) == nil)
        #expect(HubCatalog.treeItems(entry, path: "zzz", recursive: false) == nil)
    }

    /// The fields `huggingface_hub` reads: `sha`, `siblings[].rfilename`; tree items' `type`,
    /// `oid`, `size`, `path` and `lfs` (`oid`, `size`, `pointerSize`).
    @Test func bodiesHaveTheHubsFields() throws {
        let entry = RepositoryEntry(
            modelID: "org--name", repoID: "org/name", revision: Self.commitA, refs: ["main"],
            files: [Self.file("config.json"), Self.file("model.safetensors", lfs: true)])
        let info = try #require(JSONSerialization.jsonObject(with: HubBodies.encode(HubBodies.Info(entry))) as? [String: Any])
        #expect(info["id"] as? String == "org/name")
        #expect(info["sha"] as? String == Self.commitA)
        let siblings = try #require(info["siblings"] as? [[String: Any]])
        #expect(siblings.map { $0["rfilename"] as? String } == ["config.json", "model.safetensors"])
        #expect(siblings[0]["lfs"] == nil)
        #expect((siblings[1]["lfs"] as? [String: Any])?["sha256"] as? String == Self.lfsSHA)

        let items = try #require(HubCatalog.treeItems(entry, path: nil, recursive: true)).map(HubBodies.TreeItem.init)
        let tree = try #require(JSONSerialization.jsonObject(with: HubBodies.encode(items)) as? [[String: Any]])
        #expect(tree[0]["type"] as? String == "file")
        #expect(tree[0]["oid"] as? String == String(repeating: "e", count: 40))
        #expect(tree[0]["lfs"] == nil)
        let lfs = try #require(tree[1]["lfs"] as? [String: Any])
        #expect(lfs["oid"] as? String == Self.lfsSHA)
        #expect(lfs["size"] as? Int == 10)
        // The pointer: "version https://git-lfs.github.com/spec/v1\noid sha256:{64}\nsize 10\n".
        #expect(lfs["pointerSize"] as? Int == 43 + 76 + 8)
    }

    /// The pointer's git blob id, as `git hash-object` gives it for the same text.
    @Test func lfsPointerBlobID() throws {
        #expect(GitLFSPointer.gitBlobID(of: []) == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")
        #expect(GitLFSPointer.gitBlobID(of: Array("hello\n".utf8)) == "ce013625030ba8dba906f756967f9e9ca394464a")
    }
}
