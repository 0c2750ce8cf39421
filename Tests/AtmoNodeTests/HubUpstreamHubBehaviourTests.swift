import AtmoTesting
import Foundation
import Testing

@testable import AtmoNode

/// `--upstream https://huggingface.co`, against a replay of the Hub's documented answers
/// (`HubBehaviourReplay`: two loopback hosts, the Hub's and the CDN's; not the Hub, which
/// this machine cannot reach): redirects to another host, relative redirects, pages, a
/// renamed repository, a gated one, a token, rate limits.
struct HubUpstreamHubBehaviourTests {
    /// The whole path as the Hub serves it: the tree in pages (`Link: rel="next"`), LFS and
    /// Xet files through an absolute `302` to the CDN host (its own `ETag`, not the hash),
    /// files kept in git through a relative `307` to `/api/resolve-cache/...`. Every file
    /// arrives with the Hub's etag, once, and the revision becomes the node's.
    @Test func aRepositoryIsMirroredAsTheHubServesIt() async throws {
        var setup = HubBehaviourReplay.Options()
        setup.pageSize = 2
        let replay = try await HubBehaviourReplay(setup)
        let options = setup
        try await withReplayMirror(replay) { mirror, cache in
            let repo = options.repoID
            let info = try await RawHTTP.get(port: mirror.port, "/api/models/\(repo)/revision/main")
            #expect(info.json?["sha"] as? String == options.commit)
            for file in options.files {
                let answer = try await RawHTTP.get(port: mirror.port, "/\(repo)/resolve/main/\(file.path)")
                #expect(answer.status == 200, "\(file.path)")
                #expect(answer.header("X-Linked-Etag") == "\"\(file.etag)\"", "\(file.path)")
                #expect(answer.body == file.bytes, "\(file.path)")
            }
            // Three pages of two entries (two folders, four files), each asked once.
            let pages = replay.hub.requests.filter { $0.path == "/api/models/\(repo)/tree/\(options.commit)" }
            #expect(pages.count == 3)
            #expect(pages.compactMap { $0.query["cursor"] }.count == 2)
            let mirrored = try await eventually(timeout: .seconds(30)) {
                FileManager.default.fileExists(atPath: cache + "/models--replay-org--model/refs/main")
            }
            #expect(mirrored)
            for file in options.files {
                let blob = cache + "/models--replay-org--model/blobs/" + file.etag
                #expect(FileManager.default.contents(atPath: blob).map { [UInt8]($0) } == file.bytes, "\(file.path)")
            }
            // The CDN served each LFS file once; the Hub's own host none of their bytes.
            #expect(replay.cdn.requests.filter { $0.method == "GET" }.count == 2)
        }
        await replay.stop()
    }

    /// A renamed repository's old name: the Hub answers relative `307`s to the new name (API
    /// and `resolve`); the mirror follows them and serves the old name.
    @Test func aRenamedRepositoryIsFollowed() async throws {
        var setup = HubBehaviourReplay.Options()
        setup.renamedFrom = "replay-org/old-name"
        let replay = try await HubBehaviourReplay(setup)
        let options = setup
        try await withReplayMirror(replay) { mirror, _ in
            let info = try await RawHTTP.get(port: mirror.port, "/api/models/replay-org/old-name/revision/main")
            #expect(info.status == 200)
            #expect(info.json?["sha"] as? String == options.commit)
            for file in options.files {
                let answer = try await RawHTTP.get(port: mirror.port, "/replay-org/old-name/resolve/main/\(file.path)")
                #expect(answer.status == 200, "\(file.path)")
                #expect(answer.body == file.bytes, "\(file.path)")
            }
            #expect(replay.hub.requests.contains { $0.path.hasPrefix("/replay-org/old-name/resolve/") })
        }
        await replay.stop()
    }

    /// A gated repository's files: the Hub's 401 (no token) or 403 (a token not on its
    /// list) with `GatedRepo` is the node's answer too (it was a 502), so `huggingface_hub`
    /// raises `GatedRepoError` with the Hub's message and the node's hint.
    @Test func aGatedRepositoryIsAnsweredGatedRepo() async throws {
        var setup = HubBehaviourReplay.Options()
        setup.gatedToken = "hf_granted"
        let replay = try await HubBehaviourReplay(setup)
        let options = setup
        for token in [nil, "hf_not_on_the_list"] as [String?] {
            try await withReplayMirror(replay, token: token) { mirror, _ in
                let repo = options.repoID
                #expect(try await RawHTTP.get(port: mirror.port, "/api/models/\(repo)/revision/main").status == 200)
                for _ in 0..<2 {
                    let answer = try await RawHTTP.get(port: mirror.port, "/\(repo)/resolve/main/model.safetensors")
                    #expect(answer.status == (token == nil ? 401 : 403))
                    #expect(answer.header("X-Error-Code") == "GatedRepo")
                    #expect(answer.header("X-Error-Message")?.contains("Access to model \(repo) is restricted") == true)
                    #expect(answer.header("X-Error-Message")?.contains("upstream") == true)
                }
            }
        }
        #expect(replay.cdn.requests.isEmpty)
        await replay.stop()
    }

    /// With the token that has access, the mirror sends it to the Hub's host on every
    /// request, and never to the CDN (whose signed URL refuses a second credential).
    @Test func theTokenGoesToTheHubNeverToTheCDN() async throws {
        var setup = HubBehaviourReplay.Options()
        setup.gatedToken = "hf_granted"
        let replay = try await HubBehaviourReplay(setup)
        let options = setup
        try await withReplayMirror(replay, token: "hf_granted") { mirror, _ in
            for file in options.files {
                let answer = try await RawHTTP.get(port: mirror.port, "/\(options.repoID)/resolve/main/\(file.path)")
                #expect(answer.status == 200, "\(file.path)")
                #expect(answer.body == file.bytes, "\(file.path)")
            }
        }
        #expect(!replay.hub.requests.isEmpty)
        #expect(replay.hub.requests.allSatisfy { $0.headers["authorization"] == "Bearer hf_granted" })
        #expect(replay.cdn.requests.count == 2)
        #expect(replay.cdn.requests.allSatisfy { $0.headers["authorization"] == nil })
        await replay.stop()
    }

    /// A `429` whose `RateLimit` resets in a second is waited out (for the lookup and a file
    /// alike); one that resets in a minute is the node's `429` with `Retry-After`, and the
    /// upstream is not asked again before then.
    @Test func aRateLimitIsWaitedOutOrAnswered429() async throws {
        var setup = HubBehaviourReplay.Options()
        setup.lookupRateLimited = 1
        setup.rateLimited = ["model.safetensors": 1]
        let replay = try await HubBehaviourReplay(setup)
        let options = setup
        try await withReplayMirror(replay) { mirror, _ in
            let repo = options.repoID
            let info = try await RawHTTP.get(port: mirror.port, "/api/models/\(repo)/revision/main")
            #expect(info.status == 200)
            let answer = try await RawHTTP.get(port: mirror.port, "/\(repo)/resolve/main/model.safetensors")
            #expect(answer.status == 200)
            #expect(answer.body == options.files.first { $0.path == "model.safetensors" }?.bytes)
        }
        await replay.stop()

        setup.rateLimitReset = 60
        setup.retryAfterHeader = true
        setup.rateLimited = ["model.safetensors": 1000]
        let limited = try await HubBehaviourReplay(setup)
        try await withReplayMirror(limited) { mirror, _ in
            let repo = options.repoID
            let lookup = try await RawHTTP.get(port: mirror.port, "/api/models/\(repo)/revision/main")
            #expect(lookup.status == 429)
            #expect((Int(lookup.header("Retry-After") ?? "") ?? 0) > 50)
            // The lookup's wait is known: no request of the API reaches the Hub before it ends.
            let asked = limited.hub.requests.count
            #expect(try await RawHTTP.get(port: mirror.port, "/api/models/\(repo)/revision/main").status == 429)
            #expect(limited.hub.requests.count == asked)
        }
        await limited.stop()
    }

    /// A file's `429`, past the lookup: the client gets the node's `429` with the time left.
    @Test func aFilesRateLimitIsAnswered429() async throws {
        var setup = HubBehaviourReplay.Options()
        setup.rateLimitReset = 60
        setup.rateLimited = ["model.safetensors": 1000]
        let replay = try await HubBehaviourReplay(setup)
        let options = setup
        try await withReplayMirror(replay) { mirror, _ in
            for _ in 0..<2 {
                let answer = try await RawHTTP.get(port: mirror.port, "/\(options.repoID)/resolve/main/model.safetensors")
                #expect(answer.status == 429)
                #expect((Int(answer.header("Retry-After") ?? "") ?? 0) > 50)
            }
            // The limit is the Hub's `resolvers` bucket: another file waits too, unasked (the
            // mirror's walk, in path order, waits on model.safetensors).
            let vocab = try await RawHTTP.get(port: mirror.port, "/\(options.repoID)/resolve/main/tokenizer/vocab.txt")
            #expect(vocab.status == 429)
            #expect(!replay.hub.requests.contains { $0.path.hasSuffix("/vocab.txt") })
        }
        await replay.stop()
    }

    /// The `302`'s `X-Linked-Etag` says another blob than the listing: the download stops
    /// before any byte reaches the client (it used to stream all but the last byte).
    @Test func aLinkedEtagThatDisagreesStopsBeforeAnyByte() async throws {
        var setup = HubBehaviourReplay.Options()
        setup.wrongLinkedETag = ["model.safetensors"]
        let replay = try await HubBehaviourReplay(setup)
        let options = setup
        try await withReplayMirror(replay) { mirror, _ in
            let answer = try await TimedClient.get(
                port: mirror.port, "/\(options.repoID)/resolve/main/model.safetensors", readTimeout: 30)
            #expect(answer.status == 502)
            #expect(answer.body.count < 1000)
        }
        await replay.stop()
    }

    /// Runs a node of a mesh of its own (empty Hugging Face cache) whose upstream is the
    /// replay's Hub host.
    func withReplayMirror(
        _ replay: HubBehaviourReplay, token: String? = nil, _ body: @Sendable (RunningNode, String) async throws -> Void
    ) async throws {
        try await withTemporaryDirectory { directory in
            let cache = directory.sub("mirror-hub")
            try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
            try await withHubNode(
                state: directory.sub("mirror-state"), cache: cache,
                configure: {
                    $0.hubUpstream = replay.hub.baseURL
                    $0.hubUpstreamToken = token
                    $0.hubUpstreamRetrySeconds = 0
                }
            ) { mirror in
                try await body(mirror, cache)
            }
        }
    }
}
