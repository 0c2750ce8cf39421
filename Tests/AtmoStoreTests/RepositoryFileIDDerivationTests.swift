import AtmoProtocol
import AtmoTesting
import Crypto
import Foundation
import Testing

@testable import AtmoStore

/// The wire's rule on repository file ids (`RepositoryEntry.fileIDProblem`) accepts every id
/// the provider's own derivation makes (`ModelIdentifier`, the scan's disambiguation and the
/// `{name}-{hash}` form of a snapshot not main), and a commit the cache holds is never
/// rewritten (`HubCache.linkSnapshotFile`).
struct RepositoryFileIDDerivationTests {
    static let revision = String(repeating: "5", count: 40)

    @Test func everyIDTheProviderDerivesPassesTheWireRule() {
        let repos = [
            "org/tiny", "tiny", "_org/x.y", "Org-1/" + String(repeating: "n", count: 96), String(repeating: "o", count: 96) + "/n",
        ]
        let paths = [
            "config.json", "onnx/model.onnx", ".gitattributes", "a b/c d.txt", "日本語/モデル.bin", "x/.hidden", "a...b", "-x/_y",
            String(repeating: "a", count: 300), String(repeating: "d/", count: 60) + "z.bin",
        ]
        for repoID in repos {
            let parts = repoID.split(separator: "/").map(String.init)
            let (org, name) = parts.count == 2 ? (parts[0], parts[1]) : ("", parts[0])
            for isMain in [true, false] {
                let idRepo = ModelScanner.revisionRepo(name, commit: Self.revision, isMain: isMain)
                for path in paths {
                    let id = ModelIdentifier.huggingFace(org: org, repo: idRepo, path: path)
                    let twice = ModelIdentifier.appending(ModelIdentifier.shortHash("1:/some/origin"), to: id)
                    for candidate in [id, twice] {
                        let file = RepositoryFile(
                            path: path, sizeBytes: 1, sha256: String(repeating: "a", count: 64),
                            blobID: String(repeating: "b", count: 40), modelID: candidate)
                        #expect(RepositoryEntry.fileIDProblem(repoID: repoID, file: file) == nil, "\(repoID) \(path) \(candidate)")
                    }
                    // Another repository's id for the same path is refused.
                    let other = ModelIdentifier.huggingFace(org: "evil", repo: "repo", path: path)
                    let file = RepositoryFile(
                        path: path, sizeBytes: 1, sha256: String(repeating: "a", count: 64),
                        blobID: String(repeating: "b", count: 40), modelID: other)
                    #expect(RepositoryEntry.fileIDProblem(repoID: repoID, file: file) != nil, "\(repoID) \(path) \(other)")
                }
            }
        }
    }

    static func cacheFile(_ path: String, _ bytes: [UInt8]) -> HubCacheFile {
        let sha = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        return HubCacheFile(path: path, sizeBytes: Int64(bytes.count), sha256: sha, blobID: sha)
    }

    @Test func aPointerOfTheCommitToAnotherExistingBlobIsKept() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        do {
            let cache = HubCache(root: directory.sub("hub"))
            let genuine = Self.cacheFile("model.safetensors", Array("genuine".utf8))
            let lie = Self.cacheFile("model.safetensors", Array("evil!!".utf8))
            for (file, name) in [(genuine, "g"), (lie, "e")] {
                let source = directory.sub(name)
                _ = FileManager.default.createFile(atPath: source, contents: Data(name == "g" ? "genuine".utf8 : "evil!!".utf8))
                try cache.installBlob(file, repositoryID: "org/tiny", from: source, sha256Verified: false)
            }
            try cache.linkSnapshotFile(genuine, repositoryID: "org/tiny", revision: Self.revision)
            #expect(cache.heldFileConflict(genuine, repositoryID: "org/tiny", revision: Self.revision) == nil)
            #expect(cache.heldFileConflict(lie, repositoryID: "org/tiny", revision: Self.revision) != nil)
            #expect(throws: StoreError.self) { try cache.linkSnapshotFile(lie, repositoryID: "org/tiny", revision: Self.revision) }
            let pointer = directory.sub("hub/models--org--tiny/snapshots/\(Self.revision)/model.safetensors")
            #expect(FileManager.default.contents(atPath: pointer) == Data("genuine".utf8))
            // A link naming a blob that is gone is repaired.
            unlink(directory.sub("hub/models--org--tiny/blobs/\(genuine.blobID)"))
            #expect(cache.heldFileConflict(lie, repositoryID: "org/tiny", revision: Self.revision) == nil)
            try cache.linkSnapshotFile(lie, repositoryID: "org/tiny", revision: Self.revision)
            #expect(FileManager.default.contents(atPath: pointer) == Data("evil!!".utf8))
        }
    }
}
