import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation

/// A Hugging Face cache holding one small repository, laid out as `huggingface_hub` writes
/// it: blobs named by etag (SHA-256 for the LFS weights, git blob id for the rest), relative
/// snapshot symlinks, `refs/main`.
struct HubCacheFixture {
    static let repoID = "atmo-test/tiny"
    static let commit = "5f3c2d1e0b9a8f7e6d5c4b3a29180716f5e4d3c2"
    static let weightsSize = 300_000

    let root: String
    /// path -> bytes of every file of the snapshot.
    let files: [String: [UInt8]]
    /// path -> the Hub's etag.
    let etags: [String: String]

    /// Writes the cache under `root`.
    static func make(root: String, weightsSize: Int = HubCacheFixture.weightsSize) throws -> HubCacheFixture {
        let folder = root + "/models--atmo-test--tiny"
        try FileManager.default.createDirectory(atPath: folder + "/blobs", withIntermediateDirectories: true)
        let staging = root + "/staging.safetensors"
        _ = try ModelFixtures.writeModel(at: staging, size: weightsSize, seed: 7)
        let weights = try [UInt8](Data(contentsOf: URL(fileURLWithPath: staging)))
        let weightsSHA = try ModelFixtures.sha256(of: staging)
        try FileManager.default.moveItem(atPath: staging, toPath: folder + "/blobs/" + weightsSHA)
        var files = ["model.safetensors": weights]
        var etags = ["model.safetensors": weightsSHA]
        let texts = [
            "config.json": #"{"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": 16}"# + "\n",
            "tokenizer/vocab.txt": (0..<32).map { "tok\($0)\n" }.joined(),
            "README.md": "# tiny\n",
        ]
        for (path, text) in texts {
            let bytes = Array(text.utf8)
            let blob = GitLFSPointer.gitBlobID(of: bytes)
            try Data(bytes).write(to: URL(fileURLWithPath: folder + "/blobs/" + blob))
            files[path] = bytes
            etags[path] = blob
        }
        for (path, etag) in etags {
            let link = folder + "/snapshots/" + commit + "/" + path
            try FileManager.default.createDirectory(
                atPath: (link as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let depth = path.split(separator: "/").count - 1
            try FileManager.default.createSymbolicLink(
                atPath: link, withDestinationPath: String(repeating: "../", count: depth + 2) + "blobs/" + etag)
        }
        try FileManager.default.createDirectory(atPath: folder + "/refs", withIntermediateDirectories: true)
        try Data(commit.utf8).write(to: URL(fileURLWithPath: folder + "/refs/main"))
        return HubCacheFixture(root: root, files: files, etags: etags)
    }
}

/// Runs a node whose Hugging Face cache is `cache` (nothing else scanned), once it offers
/// the fixture's repository.
func withHubNode<T: Sendable>(
    state: String, cache: String, configure: @escaping (inout NodeConfiguration) -> Void = { _ in },
    _ body: @Sendable (RunningNode) async throws -> T
) async throws -> T {
    try await withMeshNode(
        stateDirectory: state, folders: [],
        configure: { configuration in
            configuration.scanRoots.huggingFaceHub = URL(fileURLWithPath: cache)
            configure(&configuration)
        }
    ) { node in
        try await body(node)
    }
}
