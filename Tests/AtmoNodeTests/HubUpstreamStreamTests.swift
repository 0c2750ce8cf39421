import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoNode

/// `--upstream` answers per file while it mirrors: a client asking for one file gets its
/// bytes as they arrive from the upstream (never waiting for the revision, never a
/// complete-looking file of unchecked bytes), a stalled upstream does not hold it, and the
/// next request tries again.
struct HubUpstreamStreamTests {
    static let repo = HubCacheFixture.repoID

    /// A real upstream node whose uploads are throttled to 1 MB/s serves a 12 MB file: the
    /// mirror answers the first request for it with its bytes as they come, so its body takes
    /// about as long as the upstream's (12 s). It used to answer once the whole revision was
    /// mirrored, the body then coming at once from the disk. Not a bound on the time to the
    /// head (a loaded machine took over 8 s to it): a lower bound on the body's own time.
    @Test func aLargeFileFromASlowUpstreamFlowsWithinTheReadTimeout() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try HubCacheFixture.make(root: directory.sub("upstream-hub"), weightsSize: 12_000_000)
            try await withHubNode(
                state: directory.sub("upstream-state"), cache: fixture.root,
                configure: { $0.bandwidth.up = ByteRate(bytesPerSecond: 1_000_000) }
            ) { upstream in
                let listed = try await eventually(timeout: .seconds(60)) {
                    try await RawHTTP.get(port: upstream.port, "/api/models/\(Self.repo)").status == 200
                }
                try #require(listed)
                let mirrorCache = directory.sub("mirror-hub")
                try FileManager.default.createDirectory(atPath: mirrorCache, withIntermediateDirectories: true)
                try await withHubNode(
                    state: directory.sub("mirror-state"), cache: mirrorCache, configure: { $0.hubUpstream = upstream.baseURL }
                ) { mirror in
                    let weights = try #require(fixture.files["model.safetensors"])
                    let answer = try await TimedClient.get(
                        port: mirror.port, "/\(Self.repo)/resolve/main/model.safetensors", readTimeout: 30)
                    #expect(answer.status == 200)
                    #expect(answer.cut == nil)
                    #expect(answer.bodyDuration > .seconds(6), "the body came in \(answer.bodyDuration): not as the upstream sent it")
                    #expect(answer.headers["x-linked-etag"] == "\"\(fixture.etags["model.safetensors"] ?? "")\"")
                    #expect(answer.headers["x-repo-commit"] == HubCacheFixture.commit)
                    #expect(answer.body.count == weights.count)
                    // Bools: a failed `==` of two large arrays costs minutes of CPU to print.
                    let same = answer.body == weights
                    #expect(same)
                    // The rest of the revision follows, and the revision becomes this node's.
                    let mirrored = try await eventually(timeout: .seconds(60)) {
                        FileManager.default.fileExists(atPath: mirrorCache + "/models--atmo-test--tiny/refs/main")
                    }
                    #expect(mirrored)
                    for (path, bytes) in fixture.files {
                        let file = try await TimedClient.get(port: mirror.port, "/\(Self.repo)/resolve/main/\(path)", readTimeout: 30)
                        let same = file.body == bytes
                        #expect(same, "\(path): \(file.body.count) bytes of \(bytes.count)")
                    }
                }
            }
        }
    }

    /// An upstream that sends wrong bytes: the client gets all but the last byte, then the
    /// connection is cut (never a complete file); its resume (`Range`) is answered whole
    /// (200), from the next download, which the upstream now gets right.
    @Test func wrongBytesAreCutBeforeTheLastByteAndAResumeStartsOver() async throws {
        let good = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var bad = good
        bad[100] ^= 0xFF
        let wrong = bad
        // The wrong bytes' last kilobyte comes 5 s late: the client has the rest by then,
        // even on a loaded machine.
        let fake = try await Self.fakeUpstream(good: good) { attempt in
            attempt == 1 ? .paced(wrong, tail: 1000, delay: .seconds(5)) : .whole(good)
        }
        try await withTemporaryDirectory { directory in
            let cache = directory.sub("mirror-hub")
            try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
            try await withHubNode(
                state: directory.sub("mirror-state"), cache: cache,
                configure: {
                    $0.hubUpstream = fake.baseURL
                    $0.hubUpstreamRetrySeconds = 0
                }
            ) { mirror in
                let first = try await TimedClient.get(port: mirror.port, "/\(Self.fakeRepo)/resolve/main/w.bin", readTimeout: 30)
                #expect(first.status == 200)
                #expect(first.cut == "closed")
                #expect(first.body.count < good.count)
                let resumed = try await TimedClient.get(
                    port: mirror.port, "/\(Self.fakeRepo)/resolve/main/w.bin", headers: ["Range: bytes=\(first.body.count)-"],
                    readTimeout: 30)
                #expect(resumed.status == 200)
                #expect(resumed.cut == nil)
                let whole = resumed.body == good
                #expect(whole, "\(resumed.body.count) bytes, not the \(good.count) of the right download")
                // Installed in the cache once checked (just after the client's last byte).
                let blob = cache + "/models--atmo-test--fake/blobs/" + Self.sha256(good)
                let installed = try await eventually(timeout: .seconds(30)) {
                    FileManager.default.contents(atPath: blob).map { [UInt8]($0) } == good
                }
                #expect(installed)
            }
        }
        await fake.stop()
    }

    /// An upstream that sends its head, a few bytes, then nothing: the mirror gives up at
    /// its read timeout and cuts the client, which does not wait longer; the next request
    /// downloads again.
    @Test func aStalledUpstreamIsGivenUpAndTheNextRequestRetries() async throws {
        let good = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 17 &+ 3) }
        let fake = try await Self.fakeUpstream(good: good) { attempt in
            attempt == 1 ? .stall(size: good.count, prefix: Array(good[0..<1000])) : .whole(good)
        }
        try await withTemporaryDirectory { directory in
            let cache = directory.sub("mirror-hub")
            try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
            try await withHubNode(
                state: directory.sub("mirror-state"), cache: cache,
                configure: {
                    $0.hubUpstream = fake.baseURL
                    $0.hubUpstreamRetrySeconds = 0
                }
            ) { mirror in
                // A read timeout longer than the mirror's (10 s): the mirror must end it first.
                let stalled = try await TimedClient.get(port: mirror.port, "/\(Self.fakeRepo)/resolve/main/w.bin", readTimeout: 30)
                #expect(stalled.status == 200)
                #expect(stalled.cut == "closed")
                #expect(stalled.body == Array(good[0..<1000]))
                let retried = try await TimedClient.get(port: mirror.port, "/\(Self.fakeRepo)/resolve/main/w.bin", readTimeout: 30)
                #expect(retried.status == 200)
                let whole = retried.body == good
                #expect(whole, "\(retried.body.count) bytes, not the \(good.count) of the whole download")
                #expect(fake.requests("/\(Self.fakeRepo)/resolve/\(Self.fakeCommit)/w.bin") == 2)
            }
        }
        await fake.stop()
    }

    static let fakeRepo = "atmo-test/fake"
    static let fakeCommit = "0123456789abcdef0123456789abcdef01234567"

    static func sha256(_ bytes: [UInt8]) -> String {
        var digests = HubFileDigests.Accumulator(sizeBytes: Int64(bytes.count))
        bytes.withUnsafeBytes { digests.update($0) }
        return digests.finish().sha256
    }

    /// A Hub upstream of one repository with one LFS file `w.bin` (the SHA-256 of `good`),
    /// whose bytes come from `resolve(attempt)`.
    static func fakeUpstream(good: [UInt8], resolve: @escaping @Sendable (Int) -> FakeHubUpstream.Reply) async throws -> FakeHubUpstream {
        let sha = sha256(good)
        let (repo, commit) = (fakeRepo, fakeCommit)
        return try await FakeHubUpstream { path, attempt in
            switch path {
            case "/api/models/\(repo)/revision/main", "/api/models/\(repo)":
                return .json(["id": repo, "sha": commit, "siblings": []])
            case "/api/models/\(repo)/tree/\(commit)":
                return .json([
                    [
                        "type": "file", "path": "w.bin", "size": good.count, "oid": String(repeating: "1", count: 40),
                        "lfs": ["oid": sha, "size": good.count, "pointerSize": 130],
                    ]
                ])
            case "/\(repo)/resolve/\(commit)/w.bin":
                return resolve(attempt)
            default:
                return nil
            }
        }
    }
}
