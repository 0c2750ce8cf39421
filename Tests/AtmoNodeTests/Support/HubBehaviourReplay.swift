import AtmoStore
import Foundation
import Synchronization

/// A replay of huggingface.co's documented answers to what the upstream client asks. It is
/// not the Hub: each answer below is what huggingface_hub's source expects and what public
/// threads show the Hub sending (docs/PROTOCOL.md, "Upstream", lists which are verified and
/// which assumed). Two loopback servers, so a cross-host redirect is real: `hub` plays
/// huggingface.co, `cdn` plays the CDN hosts (cdn-lfs.hf.co, cas-bridge.xethub.hf.co).
///
/// - `GET /api/models/{repo}/revision/{rev}`: 200 with `sha`; an unknown repository 401
///   `RepoNotFound` (the Hub's answer to an anonymous client), an unknown revision 404
///   `RevisionNotFound`.
/// - `GET /api/models/{repo}/tree/{rev}?recursive=..&expand=..[&cursor=..]`: pages of
///   `pageSize` entries (the Hub: 1,000) with an absolute `Link: <...>; rel="next"` on the
///   Hub's host and an opaque cursor; folders listed as `directory`.
/// - `GET /{repo}/resolve/{rev}/{path}`: an LFS file answers `302` with an absolute
///   `Location` on the CDN (a signed query) and `X-Linked-Etag`, `X-Linked-Size`,
///   `X-Repo-Commit` on the 302 itself (a Xet-backed one also `X-Xet-Hash` and
///   `Link: <...>; rel="xet-auth"`); a file kept in git answers a relative `307` to
///   `/api/resolve-cache/models/{repo}/{commit}/{path}?...`, which answers the bytes with
///   `ETag` (its git blob id) and `X-Repo-Commit`. Every answer carries
///   `RateLimit: "resolvers";r=..;t=..` with requests remaining.
/// - A renamed repository's old name answers a relative `307` to the same URL under its new
///   name, for the API and `resolve` alike.
/// - A gated repository's files: 401 `GatedRepo` without a token, 403 `GatedRepo` with a
///   token not on its list (info and tree stay open).
/// - A rate limit: `429` with `RateLimit: "resolvers";r=0;t=N` (and `Retry-After: N` when
///   `retryAfterHeader`).
/// - The CDN serves the bytes for a signed URL only, with an `ETag` that is not the file's
///   hash, and refuses a request that also carries `Authorization` (400, as S3 refuses two
///   authentication mechanisms).
final class HubBehaviourReplay: Sendable {
    struct File: Sendable {
        var path: String
        var bytes: [UInt8]
        var lfs: Bool
        var xet = false
        var sha256: String { HubBehaviourReplay.sha256(bytes) }
        /// The Hub's etag: the SHA-256 of an LFS file, the git blob id of a file in git.
        var etag: String { lfs ? sha256 : GitLFSPointer.gitBlobID(of: bytes) }
    }

    struct Options: Sendable {
        var repoID = "replay-org/model"
        var commit = "9a8b7c6d5e4f30211203f4e5d6c7b8a9f0e1d2c3"
        var files: [File] = HubBehaviourReplay.defaultFiles
        var pageSize = 1000
        /// An old name of the repository (answers relative `307`s to `repoID`).
        var renamedFrom: String?
        /// Gated: `resolve` needs `Authorization: Bearer {gatedToken}`.
        var gatedToken: String?
        /// `resolve` paths answered `429` this many times before their bytes.
        var rateLimited: [String: Int] = [:]
        /// Whether the API lookup (`/revision/`) is answered `429` this many times first.
        var lookupRateLimited = 0
        /// The `t=` of a `429`'s `RateLimit` (seconds until the window resets).
        var rateLimitReset = 1
        var retryAfterHeader = false
        /// Paths whose `302` links another etag than the listing's.
        var wrongLinkedETag: Set<String> = []
    }

    static let defaultFiles: [File] = [
        File(path: "config.json", bytes: Array(#"{"model_type": "gpt2", "n_embd": 8}"#.utf8) + [0x0A], lfs: false),
        File(path: "tokenizer/vocab.txt", bytes: Array((0..<40).map { "tok\($0)\n" }.joined().utf8), lfs: false),
        File(path: "model.safetensors", bytes: (0..<150_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }, lfs: true),
        File(path: "onnx/model.onnx", bytes: (0..<90_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }, lfs: true, xet: true),
    ]

    let options: Options
    let hub: ReplayHTTPServer
    let cdn: ReplayHTTPServer

    init(_ options: Options = Options()) async throws {
        self.options = options
        let hubPort = ReplayShared(0)
        let counts = ReplayShared<[String: Int]>([:])
        cdn = try await ReplayHTTPServer { request in
            Self.answerCDN(request, options: options)
        }
        let cdnBase = cdn.baseURL
        hub = try await ReplayHTTPServer { request in
            let count = counts.update { counts -> Int in
                counts[request.path, default: 0] += 1
                return counts[request.path] ?? 1
            }
            return Self.answerHub(request, options: options, hubBase: "http://127.0.0.1:\(hubPort.get())", cdnBase: cdnBase, count: count)
        }
        hubPort.set(hub.port)
    }

    func stop() async {
        await hub.stop()
        await cdn.stop()
    }

    static func sha256(_ bytes: [UInt8]) -> String {
        var digests = HubFileDigests.Accumulator(sizeBytes: Int64(bytes.count))
        bytes.withUnsafeBytes { digests.update($0) }
        return digests.finish().sha256
    }

    static let notFoundRepo: [(String, String)] = [("X-Error-Code", "RepoNotFound"), ("X-Error-Message", "Repository not found")]
}

/// A value the replay's closures share (a lock around it).
final class ReplayShared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func get() -> Value { value.withLock { $0 } }
    func set(_ new: Value) { value.withLock { $0 = new } }
    func update<T>(_ body: (inout Value) -> T) -> T { value.withLock { body(&$0) } }
}
