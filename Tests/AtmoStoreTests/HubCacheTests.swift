import AtmoStore
import AtmoTesting
import Crypto
import Foundation
import Testing

/// The pure rules of the Hugging Face cache layout: names, validation, symlink targets, steps.
struct HubCacheRuleTests {
    @Test func rootFollowsHuggingFaceHubsOrder() {
        let home = "/home/u"
        #expect(HubCache.defaultRoot(environment: [:], home: home) == "/home/u/.cache/huggingface/hub")
        #expect(HubCache.defaultRoot(environment: ["HF_HOME": "/hf"], home: home) == "/hf/hub")
        #expect(HubCache.defaultRoot(environment: ["HF_HOME": "/hf", "HF_HUB_CACHE": "/c"], home: home) == "/c")
        #expect(HubCache.defaultRoot(environment: ["XDG_CACHE_HOME": "/x"], home: home) == "/x/huggingface/hub")
        #expect(HubCache.defaultRoot(environment: ["HF_HUB_CACHE": "~/c", "HF_HOME": ""], home: home) == "/home/u/c")
    }

    @Test func folderNamesAndRepositoryIDs() {
        #expect(HubCache.folderName(repositoryID: "openai-community/gpt2") == "models--openai-community--gpt2")
        #expect(HubCache.folderName(repositoryID: "gpt2") == "models--gpt2")
        for bad in ["", "a/b/c", "../x", "a/..", "a--b/c", "/a", "a/", ".a/b", "a-/b", "a b/c", "a/b\u{0}"] {
            #expect(HubCache.folderName(repositoryID: bad) == nil, "\(bad.debugDescription)")
        }
    }

    @Test func hostilePathsAreRefused() {
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/.", "a\\b", "a\u{0}b", String(repeating: "a", count: 1025)] {
            #expect(!HubCache.isSafeRelativePath(bad), "\(bad.debugDescription)")
        }
        for good in ["config.json", "onnx/model.onnx", ".gitattributes", "a/b/c/d.bin", "..a", "a.."] {
            #expect(HubCache.isSafeRelativePath(good), "\(good)")
        }
        #expect(!HubCache.isValidRefName("../main"))
        #expect(!HubCache.isValidRefName("refs//x"))
        #expect(HubCache.isValidRefName("refs/pr/1"))
    }

    @Test func symlinkTargetsClimbOneLevelPerFolder() {
        #expect(HubCache.symlinkTarget(path: "config.json", blobID: "ab") == "../../blobs/ab")
        #expect(HubCache.symlinkTarget(path: "onnx/model.onnx", blobID: "ab") == "../../../blobs/ab")
        #expect(HubCache.symlinkTarget(path: "a/b/c", blobID: "ab") == "../../../../blobs/ab")
    }

    @Test func stepsFromWhatIsOnDisk() {
        let file = HubCacheFile(
            path: "onnx/m.onnx", sizeBytes: 10, sha256: String(repeating: "a", count: 64), blobID: String(repeating: "a", count: 64))
        let target = HubCache.symlinkTarget(path: file.path, blobID: file.blobID)
        #expect(HubCache.step(for: file, observed: .init(pointer: .symlink(target: target), blob: .file(sizeBytes: 10))) == .installed)
        #expect(HubCache.step(for: file, observed: .init(pointer: .missing, blob: .file(sizeBytes: 10))) == .linkExistingBlob)
        #expect(
            HubCache.step(for: file, observed: .init(pointer: .symlink(target: "/etc/passwd"), blob: .file(sizeBytes: 10)))
                == .linkExistingBlob)
        #expect(HubCache.step(for: file, observed: .init(pointer: .symlink(target: target), blob: .file(sizeBytes: 9))) == .needsBlob)
        #expect(HubCache.step(for: file, observed: .init(pointer: .missing, blob: .other)) == .needsBlob)
    }

    @Test func fileProblems() {
        let sha = String(repeating: "b", count: 64)
        #expect(HubCacheFile(path: "x", sizeBytes: 1, sha256: sha, blobID: sha).problem == nil)
        #expect(HubCacheFile(path: "x", sizeBytes: 1, sha256: sha, blobID: String(repeating: "c", count: 40)).problem == nil)
        #expect(HubCacheFile(path: "x", sizeBytes: 1, sha256: sha, blobID: String(repeating: "c", count: 64)).problem != nil)
        #expect(HubCacheFile(path: "../x", sizeBytes: 1, sha256: sha, blobID: sha).problem != nil)
        #expect(
            HubCache.conflictingPaths([
                HubCacheFile(path: "a", sizeBytes: 1, sha256: sha, blobID: sha),
                HubCacheFile(path: "a/b", sizeBytes: 1, sha256: sha, blobID: sha),
            ]) == ["a"])
    }
}

/// The cache writer on real files in temporary folders.
struct HubCacheWriterTests {
    static let revision = String(repeating: "1", count: 40)

    /// A file with its real hashes: LFS (blob id = SHA-256) or a git blob.
    static func file(_ path: String, _ bytes: [UInt8], lfs: Bool) -> HubCacheFile {
        let sha = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        let git = Insecure.SHA1.hash(data: Array("blob \(bytes.count)".utf8) + [0] + bytes).map { String(format: "%02x", $0) }.joined()
        return HubCacheFile(path: path, sizeBytes: Int64(bytes.count), sha256: sha, blobID: lfs ? sha : git)
    }

    @Test func installsBlobsSymlinksAndRefsAsHuggingFaceHubDoes() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let cache = HubCache(root: directory.sub("hub"))
        let config = Array("{\"model_type\": \"bert\"}\n".utf8)
        let weights = [UInt8](repeating: 7, count: 100_000)
        let files = [Self.file("config.json", config, lfs: false), Self.file("onnx/model.onnx", weights, lfs: true)]
        for (file, bytes) in zip(files, [config, weights]) {
            let source = directory.sub(UUID().uuidString)
            _ = FileManager.default.createFile(atPath: source, contents: Data(bytes))
            #expect(try cache.installBlob(file, repositoryID: "org/tiny", from: source, sha256Verified: false) == .linked)
            // A second install reuses the blob.
            #expect(try cache.installBlob(file, repositoryID: "org/tiny", from: source, sha256Verified: false) == .reused)
            try cache.linkSnapshotFile(file, repositoryID: "org/tiny", revision: Self.revision)
        }
        try cache.writeRef("main", revision: Self.revision, repositoryID: "org/tiny")
        let repo = directory.sub("hub/models--org--tiny")
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: repo + "/snapshots/\(Self.revision)/config.json")
                == "../../blobs/\(files[0].blobID)")
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: repo + "/snapshots/\(Self.revision)/onnx/model.onnx")
                == "../../../blobs/\(files[1].sha256)")
        #expect(FileManager.default.contents(atPath: repo + "/snapshots/\(Self.revision)/onnx/model.onnx") == Data(weights))
        #expect(FileManager.default.contents(atPath: repo + "/refs/main") == Data(Self.revision.utf8))
        #expect(FileManager.default.fileExists(atPath: directory.sub("hub/.locks/models--org--tiny/\(files[1].blobID).lock")))
        // No temporary left behind.
        let blobs = try FileManager.default.contentsOfDirectory(atPath: repo + "/blobs").sorted()
        #expect(blobs == files.map(\.blobID).sorted())
        for file in files {
            #expect(
                cache.observe(file, repositoryID: "org/tiny", revision: Self.revision)
                    == HubFileObservation(
                        pointer: .symlink(target: HubCache.symlinkTarget(path: file.path, blobID: file.blobID)),
                        blob: .file(sizeBytes: file.sizeBytes)))
        }
    }

    @Test func wrongBytesAreNeverInstalled() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let cache = HubCache(root: directory.sub("hub"))
        let right = Self.file("tokenizer.json", Array("right".utf8), lfs: false)
        let source = directory.sub("src")
        _ = FileManager.default.createFile(atPath: source, contents: Data("wrong".utf8))
        #expect(throws: StoreError.self) { try cache.installBlob(right, repositoryID: "org/tiny", from: source, sha256Verified: false) }
        // A git blob is always checked, even when its SHA-256 was verified.
        #expect(throws: StoreError.self) { try cache.installBlob(right, repositoryID: "org/tiny", from: source, sha256Verified: true) }
        #expect(!FileManager.default.fileExists(atPath: directory.sub("hub/models--org--tiny/blobs/\(right.blobID)")))
    }

    @Test func hostileLayoutsNeverWriteOutside() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let cache = HubCache(root: directory.sub("hub"))
        let outside = directory.sub("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let file = Self.file("onnx/model.onnx", Array("bytes".utf8), lfs: false)
        let snapshot = directory.sub("hub/models--org--tiny/snapshots/\(Self.revision)")
        try FileManager.default.createDirectory(atPath: snapshot, withIntermediateDirectories: true)
        // A folder of the path is a symlink to elsewhere: refused.
        try FileManager.default.createSymbolicLink(atPath: snapshot + "/onnx", withDestinationPath: outside)
        #expect(throws: StoreError.self) { try cache.linkSnapshotFile(file, repositoryID: "org/tiny", revision: Self.revision) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
        // A pointer already there as a symlink to elsewhere: replaced, never written through.
        let victim = outside + "/victim"
        _ = FileManager.default.createFile(atPath: victim, contents: Data("keep".utf8))
        let top = Self.file("config.json", Array("{}".utf8), lfs: false)
        try FileManager.default.createSymbolicLink(atPath: snapshot + "/config.json", withDestinationPath: victim)
        try cache.linkSnapshotFile(top, repositoryID: "org/tiny", revision: Self.revision)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: snapshot + "/config.json") == "../../blobs/\(top.blobID)")
        #expect(FileManager.default.contents(atPath: victim) == Data("keep".utf8))
        // Paths that leave the snapshot are refused before anything is touched.
        for bad in ["../../../outside/x", "/etc/passwd", "a/../../b"] {
            let hostile = HubCacheFile(path: bad, sizeBytes: 1, sha256: top.sha256, blobID: top.blobID)
            #expect(throws: StoreError.self) { try cache.linkSnapshotFile(hostile, repositoryID: "org/tiny", revision: Self.revision) }
        }
        #expect(throws: StoreError.self) { try cache.writeRef("../../x", revision: Self.revision, repositoryID: "org/tiny") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == ["victim"])
    }

    @Test func aBlobOfTheWrongSizeIsReplaced() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let cache = HubCache(root: directory.sub("hub"))
        let bytes = [UInt8](repeating: 3, count: 4096)
        let file = Self.file("model.safetensors", bytes, lfs: true)
        let blob = directory.sub("hub/models--org--tiny/blobs/\(file.blobID)")
        try FileManager.default.createDirectory(atPath: (blob as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: blob, contents: Data(bytes.prefix(100)))  // half a blob
        let source = directory.sub("src")
        _ = FileManager.default.createFile(atPath: source, contents: Data(bytes))
        #expect(try cache.installBlob(file, repositoryID: "org/tiny", from: source, sha256Verified: true) == .linked)
        #expect(FileManager.default.contents(atPath: blob) == Data(bytes))
    }
    @Test func aGitBlobOfTheRightSizeButOtherBytesIsNotTrusted() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let cache = HubCache(root: directory.sub("hub"))
        let bytes = Array("{\"model_type\": \"bert\"}".utf8)
        let file = Self.file("config.json", bytes, lfs: false)
        let blob = directory.sub("hub/models--org--tiny/blobs/\(file.blobID)")
        try FileManager.default.createDirectory(atPath: (blob as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: blob, contents: Data(repeating: UInt8(ascii: "X"), count: bytes.count))
        // Seen on disk, the wrong blob is not "there": its bytes are needed.
        #expect(cache.observe(file, repositoryID: "org/tiny", revision: Self.revision).blob == .other)
        let source = directory.sub("src")
        _ = FileManager.default.createFile(atPath: source, contents: Data(bytes))
        #expect(try cache.installBlob(file, repositoryID: "org/tiny", from: source, sha256Verified: false) == .linked)
        #expect(FileManager.default.contents(atPath: blob) == Data(bytes))
    }
}
