import Foundation
import Testing

@testable import AtmoProtocol

/// A repository file's `model_id` is the one derived from the entry's `repo_id` and the
/// file's path (the hostile review's F1): a peer cannot name a file after another model of
/// the user's store.
struct RepositoryFileIDTests {
    typealias T = RepositoryEntryTests

    static func entry(_ files: [(path: String, id: String)], repoID: String = "org/tiny") -> String {
        var fields = ["repo_id": Fixtures.quoted(repoID)]
        if repoID == "tiny" { fields["model_id"] = "\"tiny\"" }
        return T.entryJSON(files: files.map { T.fileJSON($0.path, ["model_id": Fixtures.quoted($0.id)]) }, fields)
    }

    @Test(arguments: [
        "victim-model.gguf",  // another model of the user's store
        "org--tiny--other.gguf",  // another path of the repository
        "evil--repo--model.gguf",  // another repository
        "org--tiny--model.gguf-victim",  // a suffix that is no hash
        "org--tiny--model.gguf-0123abc",  // 7 hex digits
        "org--tiny--model",  // the path cut short without a hash
        "org--tiny-0123abcd-0123abcd--model.gguf",  // two revision tags
        "org--tiny--model.gguf-0123abcd-0123abcd-0123abcd",  // three suffixes
        "org--tinyx--model.gguf",
    ])
    func anIDNotDerivedFromTheRepositoryAndPathCostsTheEntry(_ id: String) {
        let json = Self.entry([("config.json", "org--tiny--config.json"), ("model.gguf", id)])
        Fixtures.expectRejected(RepositoryEntry.self, json, code: .invalidValue, field: "files")
    }

    @Test(arguments: [
        ("model.gguf", "org--tiny--model.gguf"),
        ("onnx/model.onnx", "org--tiny--onnx--model.onnx"),
        ("model.gguf", "org--tiny-1a2b3c4d--model.gguf"),  // a snapshot not main
        ("model.gguf", "org--tiny--model.gguf-1a2b3c4d"),  // met twice in the provider's scan
        ("a b.txt", "org--tiny--a_b.txt-1a2b3c4d"),  // sanitized: a hash follows
        ("a b.txt", "org--tiny-1a2b3c4d--a_b.txt-1a2b3c4d-5e6f7a8b"),  // sanitized and met twice
        ("x/.hidden", "org--tiny--x--.hidden"),
    ])
    func derivedIDsAreAccepted(_ path: String, _ id: String) throws {
        let entry = try Fixtures.decode(RepositoryEntry.self, Self.entry([(path, id)]))
        #expect(entry.files.first?.modelID == id)
        #expect(entry.fileIDProblem == nil)
    }

    @Test func anOrglessRepositoryAndACutIDAreAccepted() throws {
        _ = try Fixtures.decode(RepositoryEntry.self, Self.entry([("config.json", "tiny--config.json")], repoID: "tiny"))
        let path = String(repeating: "a", count: 300)
        let full = "org--tiny--" + path
        let cut = String(full.prefix(191)) + "-1a2b3c4d"
        _ = try Fixtures.decode(RepositoryEntry.self, Self.entry([(path, cut)]))
        // Cut, then met twice: the second suffix cuts into the first.
        let twice = String((cut).prefix(191)) + "-5e6f7a8b"
        _ = try Fixtures.decode(RepositoryEntry.self, Self.entry([(path, twice)]))
        // Cut anywhere else: refused.
        let early = String(full.prefix(150)) + "-1a2b3c4d"
        Fixtures.expectRejected(RepositoryEntry.self, Self.entry([(path, early)]), code: .invalidValue, field: "files")
    }

    @Test func anEntryBuiltInCodeSaysWhichFileBreaksTheRule() {
        let entry = RepositoryEntry(
            modelID: "org--tiny", repoID: "org/tiny", revision: T.revision,
            files: [RepositoryFile(path: "x.bin", sizeBytes: 1, sha256: Fixtures.shaABC, blobID: T.gitBlob, modelID: "victim-model.gguf")])
        #expect(entry.fileIDProblem?.contains("victim-model.gguf") == true)
    }
}
