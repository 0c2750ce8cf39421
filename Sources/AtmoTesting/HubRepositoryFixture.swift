import AtmoStore
import Foundation

/// A Hugging Face cache holding one repository, laid out as `huggingface_hub` writes it:
/// blobs named by etag (SHA-256 for the weights, git blob id for text files), relative
/// snapshot symlinks, `refs/main`. Weights are sparse (`ModelFixtures.writeSparseModel`), so
/// a large repository is written fast.
public struct HubRepositoryFixture: Sendable {
    public let root: String
    public let repoID: String
    public let commit: String
    /// path in the repository -> the Hub's etag.
    public let etags: [String: String]
    /// path in the repository -> size in bytes.
    public let sizes: [String: Int64]

    /// `{root}/models--{org}--{name}`.
    public var folder: String { root + "/models--" + repoID.replacingOccurrences(of: "/", with: "--") }
    /// The blob of the file at `path`.
    public func blob(_ path: String) -> String { folder + "/blobs/" + (etags[path] ?? "") }
    /// The snapshot's symlink of the file at `path` in `cache` (another cache of the same layout).
    public func snapshotFile(_ path: String, in cache: String) -> String {
        cache + "/models--" + repoID.replacingOccurrences(of: "/", with: "--") + "/snapshots/" + commit + "/" + path
    }
    /// Bytes of every file.
    public var totalBytes: Int64 { sizes.values.reduce(0, +) }

    /// Writes the repository `repoID` at `commit` into the cache at `root`: `weights` (path,
    /// size, seed) as LFS files, `texts` (path -> content) as git files.
    public static func make(
        root: String, repoID: String, commit: String = "0123456789abcdef0123456789abcdef01234567",
        weights: [(path: String, size: Int64, seed: UInt64)], texts: [String: String]
    ) throws -> HubRepositoryFixture {
        let folder = root + "/models--" + repoID.replacingOccurrences(of: "/", with: "--")
        try FileManager.default.createDirectory(atPath: folder + "/blobs", withIntermediateDirectories: true)
        var etags: [String: String] = [:]
        var sizes: [String: Int64] = [:]
        for weight in weights {
            let staging = folder + "/blobs/staging"
            let sha = try ModelFixtures.writeSparseModel(at: staging, size: weight.size, seed: weight.seed, header: .none)
            try FileManager.default.moveItem(atPath: staging, toPath: folder + "/blobs/" + sha)
            etags[weight.path] = sha
            sizes[weight.path] = weight.size
        }
        for (path, text) in texts {
            let bytes = Array(text.utf8)
            let blob = GitLFSPointer.gitBlobID(of: bytes)
            try Data(bytes).write(to: URL(fileURLWithPath: folder + "/blobs/" + blob))
            etags[path] = blob
            sizes[path] = Int64(bytes.count)
        }
        for (path, etag) in etags {
            let link = folder + "/snapshots/" + commit + "/" + path
            try FileManager.default.createDirectory(atPath: (link as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let depth = path.split(separator: "/").count - 1
            try FileManager.default.createSymbolicLink(
                atPath: link, withDestinationPath: String(repeating: "../", count: depth + 2) + "blobs/" + etag)
        }
        try FileManager.default.createDirectory(atPath: folder + "/refs", withIntermediateDirectories: true)
        try Data(commit.utf8).write(to: URL(fileURLWithPath: folder + "/refs/main"))
        return HubRepositoryFixture(root: root, repoID: repoID, commit: commit, etags: etags, sizes: sizes)
    }
}

extension AtmoSandbox {
    /// Starts `atmo serve` offering the Hugging Face cache `hubCache` (`HF_HUB_CACHE`) and
    /// `folders`, on 127.0.0.1 (port 0: the OS chooses; pass a former node's port to restart
    /// it there), without LlamaFarm or LAN discovery; waits until it serves and lists
    /// `readyModels` (single-file ids; a repository is waited for with its catalog).
    public func serveHub(
        hubCache: String, folders: [String] = [], stateDirectory: String, port: Int = 0, name: String = "serve",
        readyModels: [String] = [], extraArguments: [String] = [], timeout: Double = 120
    ) async throws -> ServeProcess {
        try FileManager.default.createDirectory(atPath: hubCache, withIntermediateDirectories: true)
        let portFile = path("\(name)-\(UUID().uuidString.prefix(8)).port")
        var arguments = [
            "serve", "--host", "127.0.0.1", "--port", "\(port)", "--port-file", portFile, "--state-dir", stateDirectory,
            "--no-llamafarm", "--no-lan",
        ]
        for folder in folders { arguments += ["--folder", folder] }
        let process = try start(arguments + extraArguments, name: name, environment: ["HF_HUB_CACHE": hubCache])
        let bound = try await waitForPortFile(portFile, process: process, timeout: timeout)
        let server = ServeProcess(process: process, port: bound, stateDirectory: stateDirectory, folders: folders)
        try await server.waitUntilReady(listing: readyModels, timeout: timeout)
        return server
    }
}
