import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoNode

#if canImport(Glibc)
    import Glibc
#endif

/// A file whose upstream bytes are wrong cannot wear down the mirror: it is not fetched
/// again at once by every request, it leaves one taint marker however often it fails, and a
/// full marker folder still lets clean files stream. A file too small to hold a byte back
/// is answered only once checked.
struct HubUpstreamTaintTests {
    typealias Stream = HubUpstreamStreamTests
    static let path = "/\(Stream.fakeRepo)/resolve/main/w.bin"
    static let upstreamPath = "/\(Stream.fakeRepo)/resolve/\(Stream.fakeCommit)/w.bin"

    static func bytes(_ count: Int) -> ([UInt8], [UInt8]) {
        let good = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }
        var bad = good
        bad[10] ^= 0xFF
        return (good, bad)
    }

    /// Requests after a failed download get 503 with `Retry-After`, not a download each.
    @Test func aFailedFileIsNotFetchedAgainAtOnce() async throws {
        let (good, bad) = Self.bytes(50_000)
        let fake = try await Stream.fakeUpstream(good: good) { _ in .whole(bad) }
        try await withTemporaryDirectory { directory in
            let cache = directory.sub("mirror-hub")
            try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
            try await withHubNode(state: directory.sub("mirror-state"), cache: cache, configure: { $0.hubUpstream = fake.baseURL }) {
                mirror in
                let first = try await TimedClient.get(port: mirror.port, Self.path, readTimeout: 30)
                #expect(first.status != 200 || first.cut != nil)
                var last: TimedClient.Result?
                for _ in 0..<6 {
                    let answer = try await TimedClient.get(port: mirror.port, Self.path, readTimeout: 30)
                    #expect(answer.status != 200 || answer.cut != nil)
                    last = answer
                }
                #expect(last?.status == 503)
                #expect(Int(last?.headers["retry-after"] ?? "") ?? 0 >= 1)
                #expect(fake.requests(Self.upstreamPath) == 1)
            }
        }
        await fake.stop()
    }

    /// Downloads of one blob that fail again and again (no backoff here) leave one marker;
    /// a resume of it is still answered whole.
    @Test func repeatedFailuresOfOneBlobLeaveOneMarker() async throws {
        let (good, bad) = Self.bytes(50_000)
        let fake = try await Stream.fakeUpstream(good: good) { _ in .whole(bad) }
        try await withTemporaryDirectory { directory in
            let (cache, state) = (directory.sub("mirror-hub"), directory.sub("mirror-state"))
            try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
            try await withHubNode(
                state: state, cache: cache,
                configure: {
                    $0.hubUpstream = fake.baseURL
                    $0.hubUpstreamRetrySeconds = 0
                }
            ) { mirror in
                for round in 1...5 {
                    _ = try await TimedClient.get(port: mirror.port, Self.path, readTimeout: 30)
                    let fetched = try await eventually(timeout: .seconds(60)) { fake.requests(Self.upstreamPath) >= round }
                    #expect(fetched)
                }
                let markers = try FileManager.default.contentsOfDirectory(atPath: state + "/hub-upstream/unverified")
                #expect(markers == [Stream.sha256(good)])
                let resumed = try await TimedClient.get(port: mirror.port, Self.path, headers: ["Range: bytes=100-"], readTimeout: 30)
                #expect(resumed.status != 206)
            }
        }
        await fake.stop()
    }

    /// A marker folder already full (1,024 markers of other blobs, as a former run left
    /// them) does not stop a blob without a marker from streaming: the client gets its bytes
    /// before the check; a resume is answered whole.
    @Test func aFullMarkerFolderStillStreamsACleanBlob() async throws {
        let (good, bad) = Self.bytes(200_000)
        let fake = try await Stream.fakeUpstream(good: good) { attempt in
            attempt == 1 ? .paced(bad, tail: 1000, delay: .seconds(5)) : .whole(good)
        }
        try await withTemporaryDirectory { directory in
            let (cache, state) = (directory.sub("mirror-hub"), directory.sub("mirror-state"))
            try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
            let folder = state + "/hub-upstream/unverified"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for index in 0..<1024 {
                let name = String(format: "%064x", index)
                #expect(FileManager.default.createFile(atPath: folder + "/" + name, contents: Data()))
            }
            try await withHubNode(
                state: state, cache: cache,
                configure: {
                    $0.hubUpstream = fake.baseURL
                    $0.hubUpstreamRetrySeconds = 0
                }
            ) { mirror in
                let first = try await TimedClient.get(port: mirror.port, Self.path, readTimeout: 30)
                #expect(first.status == 200)
                #expect(first.cut == "closed")
                #expect(first.body.count >= good.count - 1000)
                #expect(first.body.count < good.count)
                let resumed = try await TimedClient.get(
                    port: mirror.port, Self.path, headers: ["Range: bytes=\(first.body.count)-"], readTimeout: 30)
                #expect(resumed.status == 200)
                // A Bool: a failed `==` of two 200 KB arrays costs minutes of CPU to print.
                let whole = resumed.body == good
                #expect(whole, "\(resumed.body.count) bytes, not the clean blob's \(good.count)")
            }
        }
        await fake.stop()
    }

    /// An empty file whose upstream hash is wrong: never a 200 with `Content-Length: 0`
    /// (a complete file of unchecked bytes to the client), but an error once checked.
    @Test func anEmptyFileIsAnsweredOnlyOnceChecked() async throws {
        let (repo, commit) = (Stream.fakeRepo, Stream.fakeCommit)
        let wrongOID = String(repeating: "ab", count: 32)
        let fake = try await FakeHubUpstream { path, _ in
            switch path {
            case "/api/models/\(repo)/revision/main", "/api/models/\(repo)":
                return .json(["id": repo, "sha": commit, "siblings": []])
            case "/api/models/\(repo)/tree/\(commit)":
                return .json([
                    [
                        "type": "file", "path": "e.bin", "size": 0, "oid": String(repeating: "1", count: 40),
                        "lfs": ["oid": wrongOID, "size": 0, "pointerSize": 130],
                    ]
                ])
            case "/\(repo)/resolve/\(commit)/e.bin":
                // Its head at once, its (empty, chunked) body's end a second later.
                let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                return FakeHubUpstream.Reply(bytes: Array(head.utf8), later: (.seconds(1), Array("0\r\n\r\n".utf8)))
            default:
                return nil
            }
        }
        try await withTemporaryDirectory { directory in
            let cache = directory.sub("mirror-hub")
            try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
            try await withHubNode(state: directory.sub("mirror-state"), cache: cache, configure: { $0.hubUpstream = fake.baseURL }) {
                mirror in
                let answer = try await TimedClient.get(port: mirror.port, "/\(repo)/resolve/main/e.bin", readTimeout: 30)
                #expect(answer.status == 502)
            }
        }
        await fake.stop()
    }

    /// The backoff doubles from its base to an hour, and forgets a verified blob.
    @Test func backoffDoublesToAnHour() {
        var backoff = HubUpstreamBackoff(base: .seconds(30))
        let start = ContinuousClock.now
        #expect(backoff.wait("a", now: start) == nil)
        backoff.failed("a", now: start)
        #expect(backoff.wait("a", now: start) == .seconds(30))
        #expect(backoff.wait("a", now: start + .seconds(31)) == nil)
        backoff.failed("a", now: start)
        #expect(backoff.wait("a", now: start) == .seconds(60))
        for _ in 0..<20 { backoff.failed("a", now: start) }
        #expect(backoff.wait("a", now: start) == .seconds(3600))
        #expect(backoff.wait("b", now: start) == nil)
        backoff.succeeded("a")
        #expect(backoff.wait("a", now: start) == nil)
        var bounded = HubUpstreamBackoff(base: .seconds(30))
        bounded.capacity = 3
        for index in 0..<10 { bounded.failed("\(index)", now: start + .seconds(Double(index))) }
        #expect(bounded.count == 3)
        #expect(bounded.wait("9", now: start) != nil)
    }

    /// Markers: one per blob, kept by a later download, expired after `expiry`; past the
    /// limit, `overflow` taints every blob while clean blobs still stream.
    @Test func markersArePerBlobBoundedAndExpire() async throws {
        try await withTemporaryDirectory { directory in
            var taint = HubUpstreamTaint(folder: directory.sub("unverified"))
            taint.limit = 2
            let first = taint.begin(blobID: "a")
            #expect(first == .init(streams: true, removeOnVerify: true))
            // A second download of a blob whose marker is left does not remove it.
            #expect(taint.begin(blobID: "a") == .init(streams: true, removeOnVerify: false))
            #expect(taint.begin(blobID: "b").streams)
            #expect(!taint.isTainted(blobID: "c"))
            let overflow = taint.begin(blobID: "c")
            #expect(overflow == .init(streams: true, removeOnVerify: false))
            #expect(taint.isTainted(blobID: "c"))
            #expect(taint.isTainted(blobID: "d"))
            // Old markers expire.
            for name in ["a", "b", HubUpstreamTaint.overflowName] {
                var times = [timeval(tv_sec: 1000, tv_usec: 0), timeval(tv_sec: 1000, tv_usec: 0)]
                #expect(utimes(directory.sub("unverified/" + name), &times) == 0)
            }
            #expect(!taint.isTainted(blobID: "a"))
            #expect(!taint.isTainted(blobID: "d"))
            #expect(taint.begin(blobID: "d") == .init(streams: true, removeOnVerify: true))
            let left = try FileManager.default.contentsOfDirectory(atPath: directory.sub("unverified"))
            #expect(left == ["d"])
            taint.end(blobID: "d")
            #expect(!taint.isTainted(blobID: "d"))
            // A marker of the older shape `{blob}.{attempt}` still taints its blob.
            #expect(FileManager.default.createFile(atPath: directory.sub("unverified/e.1a2b3c4d"), contents: Data()))
            #expect(taint.isTainted(blobID: "e"))
            #expect(!taint.isTainted(blobID: "f"))
        }
    }
}
