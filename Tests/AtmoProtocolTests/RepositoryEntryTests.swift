import Foundation
import Testing

@testable import AtmoProtocol

/// `RepositoryEntry` and `RepositoryFile` (issue 12): a repository revision as one model.
/// Strict where a consumer writes files (paths, hashes, revision, refs), one bad file costs
/// the whole entry; tolerant elsewhere; round-trips unknown fields.
struct RepositoryEntryTests {
    static let revision = "0123456789abcdef0123456789abcdef01234567"
    static let gitBlob = "a9993e364706816aba3e25717850c26c9cd0d89d"

    static func fileJSON(_ path: String, _ fields: [String: String] = [:]) -> String {
        var members: [String: String] = [
            "path": Fixtures.quoted(path), "size_bytes": "3", "sha256": "\"\(Fixtures.shaABC)\"",
            "blob_id": "\"\(gitBlob)\"", "model_id": Fixtures.quoted("org--tiny--" + path.replacingOccurrences(of: "/", with: "--")),
        ]
        for (key, value) in fields { members[key] = value }
        return Fixtures.object(members)
    }

    static func entryJSON(files: [String], _ fields: [String: String] = [:]) -> String {
        var members: [String: String] = [
            "model_id": "\"org--tiny\"", "repo_id": "\"org/tiny\"", "repo_type": "\"model\"", "revision": "\"\(revision)\"",
            "refs": #"["main"]"#, "size_bytes": "\(3 * files.count)", "format": "\"safetensors\"", "type": "\"llm\"",
            "files": "[\(files.joined(separator: ","))]",
        ]
        for (key, value) in fields { members[key] = value }
        return Fixtures.object(members)
    }

    /// The id a provider derives for `path` of `org/tiny`: sanitized, with a hash suffix
    /// (any 8 hex digits pass the shape check) when sanitizing changed it or it is cut.
    static func derivedID(_ path: String) -> String {
        let (text, changed) = RepositoryFileID.shape("org--tiny--" + path.replacingOccurrences(of: "/", with: "--"))
        return !changed && text.utf8.count <= 200 ? text : String(text.prefix(191)) + "-0123abcd"
    }

    static func file(_ path: String, sha: String = Fixtures.shaABC, blob: String = gitBlob) -> RepositoryFile {
        RepositoryFile(
            path: path, sizeBytes: 3, sha256: sha, blobID: blob,
            modelID: "org--tiny--" + path.replacingOccurrences(of: "/", with: "--"))
    }

    @Test func roundTripKeepsEveryFieldAndSortsFilesByPath() throws {
        let lfs = RepositoryFile(
            path: "model.safetensors", sizeBytes: 10, sha256: Fixtures.sha, blobID: Fixtures.sha, modelID: "org--tiny--model.safetensors",
            pieceSize: 1 << 20, piecesSHA256: Fixtures.shaABC)
        let entry = RepositoryEntry(
            modelID: "org--tiny", repoID: "org/tiny", revision: Self.revision, refs: ["main", "refs/pr/1"], type: "llm",
            format: "safetensors", files: [lfs, Self.file("config.json"), Self.file("onnx/model.onnx")],
            extra: ["future": .string("kept")])
        #expect(entry.files.map(\.path) == ["config.json", "model.safetensors", "onnx/model.onnx"])
        #expect(entry.sizeBytes == 16)
        let text = try Fixtures.encodedText(entry)
        #expect(text.contains(#""blob_id":"a9993e"#) && text.contains(#""repo_type":"model""#) && text.contains(#""future":"kept""#))
        let decoded = try Fixtures.decode(RepositoryEntry.self, text)
        #expect(decoded == entry)
        #expect(decoded.file(atPath: "model.safetensors")?.manifestReference?.pieceSize == 1 << 20)
        #expect(decoded.file(modelID: "org--tiny--config.json")?.isGitBlob == true)
    }

    @Test func optionalFieldsDefaultAndFilesComeOutSorted() throws {
        let json = Self.entryJSON(
            files: [Self.fileJSON("z.json"), Self.fileJSON("a/b.json"), Self.fileJSON("a.json")],
            ["repo_type": Fixtures.absent, "refs": "null", "name": Fixtures.absent, "format": Fixtures.absent, "type": "\"LLM\""])
        let entry = try Fixtures.decode(RepositoryEntry.self, json)
        #expect(entry.repoType == "model" && entry.refs.isEmpty && entry.name == "org/tiny" && entry.format == "")
        #expect(entry.kind == .llm)
        #expect(entry.files.map(\.path) == ["a.json", "a/b.json", "z.json"])
        #expect(entry.source == "huggingface" && entry.sourceRef == "org/tiny")
    }

    @Test(arguments: [
        "../x", "/etc/passwd", "a/../../x", "a//b", "./a", "a/.", "a/", "", "a\\b", "..", "a\u{0}b", "a\nb", "\u{7F}",
        String(repeating: "a", count: 1025),
    ])
    func aHostilePathCostsTheWholeEntry(_ path: String) throws {
        let json = Self.entryJSON(files: [Self.fileJSON("config.json"), Self.fileJSON(path)])
        Fixtures.expectRejected(RepositoryEntry.self, json, code: .invalidValue, field: "path")
    }

    @Test func pathsAHubRepositoryMayHoldAreAccepted() throws {
        let paths = [".gitattributes", "a b/c d.txt", "日本語/モデル.bin", "x/.hidden", "a...b", String(repeating: "a", count: 1024)]
        for path in paths {
            let id = Fixtures.quoted(Self.derivedID(path))
            let entry = try Fixtures.decode(RepositoryEntry.self, Self.entryJSON(files: [Self.fileJSON(path, ["model_id": id])]))
            #expect(entry.files.first?.path == path)
        }
    }

    @Test func badHashesCostTheEntry() {
        let cases: [(String, String)] = [
            ("sha256", "\"xyz\""), ("sha256", "\"\(String(repeating: "g", count: 64))\""),
            ("blob_id", "\"\(String(repeating: "a", count: 39))\""), ("blob_id", "\"\(String(repeating: "z", count: 40))\""),
            ("blob_id", "\"\(Fixtures.sha)\""),  // a 64-hex blob id that is not the file's sha256
            ("blob_id", Fixtures.absent), ("model_id", "\"../x\""), ("size_bytes", "-1"), ("size_bytes", "1e30"),
        ]
        for (field, value) in cases {
            let json = Self.entryJSON(files: [Self.fileJSON("config.json"), Self.fileJSON("b.json", [field: value])])
            let error = Fixtures.wireError(RepositoryEntry.self, json)
            #expect(error?.message.contains("files[1].\(field)") == true, "\(field)=\(value): \(String(describing: error))")
        }
    }

    @Test func uppercaseHexIsLowercasedAndAnLFSBlobIsItsSHA256() throws {
        let upper = Fixtures.shaABC.uppercased()
        let json = Self.entryJSON(
            files: [Self.fileJSON("w.safetensors", ["sha256": "\"\(upper)\"", "blob_id": "\"\(upper)\""])],
            ["revision": "\"\(Self.revision.uppercased())\""])
        let entry = try Fixtures.decode(RepositoryEntry.self, json)
        #expect(entry.files.first?.blobID == Fixtures.shaABC && entry.files.first?.isGitBlob == false)
        #expect(entry.revision == Self.revision)
    }

    @Test func repositoryFieldsAreChecked() {
        let cases: [(String, String)] = [
            ("repo_id", "\"../x\""), ("repo_id", "\"a/b/c\""), ("repo_id", "\"org--x/y\""), ("repo_id", "\"org/x..y\""),
            ("repo_id", "\"org/-x\""), ("repo_id", "\"org/x.git\""), ("repo_id", "\"\""),
            ("repo_id", "\"\(String(repeating: "a", count: 97))\""), ("repo_type", "\"dataset\""),
            ("revision", "\"main\""), ("revision", "\"\(String(Self.revision.dropLast()))\""), ("revision", Fixtures.absent),
            ("refs", #"["../x"]"#), ("refs", #"["a//b"]"#), ("refs", #"[".hidden"]"#), ("refs", #"["a b"]"#),
            ("refs", "[" + (0...16).map { "\"r\($0)\"" }.joined(separator: ",") + "]"), ("model_id", "\"a/b\""),
            ("refs", #"["main", "main/x"]"#), ("refs", #"["refs/pr/1", "refs/pr/1/a/b", "v1"]"#),
            ("size_bytes", "7"), ("files", "[]"), ("files", Fixtures.absent), ("format", "\"../x\""),
        ]
        for (field, value) in cases {
            let json = Self.entryJSON(files: [Self.fileJSON("config.json"), Self.fileJSON("b.json")], [field: value])
            let error = Fixtures.wireError(RepositoryEntry.self, json)
            #expect(error?.message.contains(field) == true, "\(field)=\(value): \(String(describing: error))")
        }
    }

    @Test func filesThatCannotSitSideBySideCostTheEntry() {
        let cases: [[String]] = [
            [Self.fileJSON("a.json"), Self.fileJSON("a.json", ["model_id": "\"other\""])],
            [Self.fileJSON("a"), Self.fileJSON("a-b"), Self.fileJSON("a.c"), Self.fileJSON("a/b")],
            [Self.fileJSON("x/a"), Self.fileJSON("x/a/b/c")],
            [Self.fileJSON("a.json"), Self.fileJSON("b.json", ["model_id": "\"org--tiny--a.json\""])],
        ]
        for files in cases {
            let error = Fixtures.wireError(RepositoryEntry.self, Self.entryJSON(files: files))
            #expect(error?.message.hasPrefix("files:") == true, "\(String(describing: error))")
        }
    }

    @Test func aRepositoryOfMoreThanTheFileBoundIsRefused() throws {
        let limit = WireLimits.maxFilesPerRepository
        #expect(limit == 4096)
        let many = (0..<5000).map { Self.fileJSON("f\($0)") }
        Fixtures.expectRejected(RepositoryEntry.self, Self.entryJSON(files: many), code: .tooLarge, field: "files")
        let bounded = try Fixtures.decode(RepositoryEntry.self, Self.entryJSON(files: Array(many.prefix(limit))))
        #expect(bounded.files.count == limit)
    }

    @Test func validationOfIDsPathsAndRefs() {
        #expect(Validation.isValidRepositoryID("gpt2") && Validation.isValidRepositoryID("openai-community/gpt2"))
        #expect(Validation.isValidRepositoryID("_org/x_") && Validation.isValidRepositoryID("Qwen/Qwen3-0.6B"))
        #expect(!Validation.isValidRepositoryID("org/") && !Validation.isValidRepositoryID("/x") && !Validation.isValidRepositoryID("a b"))
        #expect(Validation.isValidRefName("main") && Validation.isValidRefName("refs/pr/1") && Validation.isValidRefName("v1.0"))
        #expect(!Validation.isValidRefName("") && !Validation.isValidRefName("/main") && !Validation.isValidRefName("a/../b"))
        #expect(!Validation.isValidRefName(String(repeating: "a", count: 256)))
        #expect(Validation.isValidBlobID(Self.gitBlob) && Validation.isValidBlobID(Fixtures.sha))
        #expect(!Validation.isValidBlobID(Self.gitBlob.uppercased()))
    }
}
