import AtmoNode
import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

/// A file only a slow peer holds, through this node's Hub endpoint: the `GET` outlasts the
/// fetch's wait, and the client gets the bytes from this node as the fetch checks them (no
/// redirect), ranges as `206`, and a body cut short when the fetch fails.
struct HubMeshStreamTests {
    static let repo = HubCacheFixture.repoID
    /// 6 pieces of 1 MiB, at 1 MB/s: the fetch takes about 6 s, the wait is 0.3 s.
    static let weightsSize = 6 * 1024 * 1024
    static let target = "/\(repo)/resolve/main/model.safetensors"

    /// A holder sending at most 1 MB/s, and a node of its mesh with an empty cache that waits
    /// 0.3 s for a fetch.
    func withSlowMesh(
        _ directory: TemporaryDirectory, _ body: @Sendable (HubCacheFixture, RunningNode, RunningNode) async throws -> Void
    ) async throws {
        try await HubMeshPair.with(
            directory, weightsSize: Self.weightsSize,
            holder: { $0.bandwidth.up = ByteRate(bytesPerSecond: 1_000_000) },
            meshed: { $0.hubMeshFetchWaitSeconds = 0.3 }
        ) { pair in
            try await body(pair.fixture, pair.holder, pair.meshed)
        }
    }

    static func get(_ port: Int, headers: [String] = []) async throws -> RawHTTP.Response {
        try await RawHTTP.send(port: port, RawHTTP.request("GET", target, headers: headers), timeout: 120)
    }

    @Test func aSlowFetchIsStreamedFromThisNodeAndRangesToo() async throws {
        try await withTemporaryDirectory { directory in
            try await withSlowMesh(directory) { fixture, _, meshed in
                let weights = try #require(fixture.files["model.safetensors"])
                let whole = Task { try await Self.get(meshed.port) }
                // A resume mid-fetch, as huggingface_hub sends it.
                let start = 2_500_000
                let ranged = try await Self.get(meshed.port, headers: ["Range: bytes=\(start)-"])
                #expect(ranged.status == 206, "\(ranged.status) \(ranged.bodyText.prefix(300))")
                #expect(ranged.header("Location") == nil)
                #expect(ranged.header("Content-Range") == "bytes \(start)-\(weights.count - 1)/\(weights.count)")
                #expect(ranged.header("X-Repo-Commit") == HubCacheFixture.commit)
                #expect(ranged.body == Array(weights[start...]))
                let answer = try await whole.value
                #expect(answer.status == 200, "\(answer.status) \(answer.bodyText.prefix(300))")
                #expect(answer.header("Location") == nil)
                #expect(answer.header("Content-Length") == String(weights.count))
                #expect(answer.header("ETag") == "\"\(fixture.etags["model.safetensors"] ?? "")\"")
                #expect(answer.header("X-Linked-Etag") == "\"\(fixture.etags["model.safetensors"] ?? "")\"")
                #expect(answer.body.count == weights.count)
                #expect(answer.body == weights)
            }
        }
    }

    @Test func aFetchThatFailsCutsTheClientsBodyShort() async throws {
        try await withTemporaryDirectory { directory in
            try await withSlowMesh(directory) { fixture, _, meshed in
                let weights = try #require(fixture.files["model.safetensors"])
                let sha256 = try #require(fixture.etags["model.safetensors"])
                // Before the fetch starts, the holder's copy goes bad without its knowing: its
                // last 2 MiB overwritten, its size and modification time kept, so it goes on
                // serving the file it hashed. This node gets good pieces and pieces that fail
                // their check from its only source, and the fetch fails, however fast either
                // node is. No check can fail before a whole piece (1 MiB) came, a second or
                // more at the holder's 1 MB/s, past this node's 0.3 s wait: the answer is a
                // `200` with the whole length, then its body, cut wherever the failure finds
                // it (often before its first byte: the good pieces may come after the bad
                // ones; bytes streamed from the partial: the test above).
                let blob = fixture.root + "/models--atmo-test--tiny/blobs/" + sha256
                try Self.overwriteUnnoticed(blob, at: weights.count - 2 * 1024 * 1024, count: 2 * 1024 * 1024)
                let answer = try await Self.get(meshed.port)
                #expect(answer.status == 200, "\(answer.status) \(answer.bodyText.prefix(300))")
                #expect(answer.header("Content-Length") == String(weights.count))
                #expect(answer.body.count < weights.count, "a complete body of a failed fetch")
                #expect(answer.body == Array(weights.prefix(answer.body.count)), "only checked bytes, in order")
            }
        }
    }

    /// Overwrites `count` bytes of the file at `path` from `offset` with other bytes, and
    /// sets its modification time back (to the nanosecond): its size, inode and time are
    /// what a node that hashed it checks before serving it.
    static func overwriteUnnoticed(_ path: String, at offset: Int, count: Int) throws {
        var before = stat()
        try #require(stat(path, &before) == 0)
        let file = try #require(FileHandle(forUpdatingAtPath: path))
        try file.seek(toOffset: UInt64(offset))
        try file.write(contentsOf: Data(repeating: 0xA5, count: count))
        try file.close()
        var times = [before.st_atim, before.st_mtim]
        try #require(utimensat(AT_FDCWD, path, &times, 0) == 0)
        var after = stat()
        try #require(stat(path, &after) == 0)
        try #require(
            after.st_size == before.st_size && after.st_mtim.tv_sec == before.st_mtim.tv_sec
                && after.st_mtim.tv_nsec == before.st_mtim.tv_nsec)
    }
}
