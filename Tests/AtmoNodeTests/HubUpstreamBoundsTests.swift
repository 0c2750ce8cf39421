import AsyncHTTPClient
import AtmoTesting
import Foundation
import Testing

@testable import AtmoNode

/// What a hostile upstream's JSON can make this node hold (hostile review dec07h F12: a
/// 64 MiB tree page of `[{},{},...]` took 4 GB of RSS per request): every answer is bounded
/// in bytes, then in values before it is decoded, the items of a listing are counted over
/// all its pages, and at most `HubUpstreamReads.limit` answers are read at once.
struct HubUpstreamBoundsTests {
    static let repo = "atmo-test/bounds"
    static let commit = "0123456789abcdef0123456789abcdef01234567"
    static let infoPath = "/api/models/\(repo)/revision/main"
    static let treePath = "/api/models/\(repo)/tree/\(commit)"

    /// A fake upstream answering the info and tree page of `repo` with `info` and `tree`.
    func withClient(
        info: [UInt8] = Array(#"{"id":"atmo-test/bounds","sha":"0123456789abcdef0123456789abcdef01234567"}"#.utf8),
        tree: [UInt8], _ body: (HubUpstreamClient) async throws -> Void
    ) async throws {
        let fake = try await FakeHubUpstream { path, _ in
            switch path {
            case Self.infoPath: .whole(info, headers: ["Content-Type: application/json"])
            case Self.treePath: .whole(tree, headers: ["Content-Type: application/json"])
            default: nil
            }
        }
        do {
            try await HTTPClient.withHTTPClient { http in
                var client = HubUpstreamClient(http: http, baseURL: fake.baseURL)
                // The bounds are what is checked, not the time: a loaded CI ran a 1.2 MB answer
                // past the default 30 s (deadlineExceeded after 39.8 s).
                client.timeout = .seconds(120)
                try await body(client)
            }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }

    /// The message of the `HubUpstreamError` `body` throws ("" when it throws none).
    func failure(_ body: () async throws -> Void) async -> String {
        do {
            try await body()
            return ""
        } catch {
            return "\(error)"
        }
    }

    static func fileItem(_ path: String) -> String {
        #"{"type":"file","oid":"\#(String(repeating: "1", count: 40))","size":5,"path":"\#(path)"}"#
    }

    /// 20,000 empty objects (60 KB) are refused by their count, before any is decoded.
    @Test func aTreePageOfManyItemsIsRefusedByItsCount() async throws {
        let tree = Array(("[" + Array(repeating: "{}", count: 20_000).joined(separator: ",") + "]").utf8)
        try await withClient(tree: tree) { client in
            let message = await failure { _ = try await client.files(repoID: Self.repo, commit: Self.commit) }
            #expect(message.contains("more than \(HubUpstreamJSON.maxTreeItems) items"), "\(message)")
        }
    }

    /// A page over the byte bound (a real item, then 9 MiB of spaces) fails, saying so.
    @Test func aTreePageOverTheByteBoundIsRefusedAndNamed() async throws {
        let tree = Array(("[" + Self.fileItem("a.txt") + String(repeating: " ", count: 9 << 20) + "]").utf8)
        try await withClient(tree: tree) { client in
            let message = await failure { _ = try await client.files(repoID: Self.repo, commit: Self.commit) }
            #expect(message.contains("is larger than 8 MiB"), "\(message)")
            #expect(message.contains("tree listing of \(Self.repo)"), "\(message)")
        }
    }

    /// An info answer of 600,000 values (1.2 MB) is refused before it is decoded.
    @Test func anInfoOfTooManyValuesIsRefused() async throws {
        let info = Array(
            (#"{"sha":"\#(Self.commit)","x":["# + Array(repeating: "0", count: 600_000).joined(separator: ",") + "]}").utf8)
        try await withClient(info: info, tree: Array("[]".utf8)) { client in
            let message = await failure { _ = try await client.lookup(repoID: Self.repo, revision: "main") }
            #expect(message.contains("more than \(HubUpstreamJSON.maxValues) JSON values"), "\(message)")
        }
    }

    /// Real-shaped answers still read: the commit, and a listing's files (folders skipped,
    /// unknown fields ignored); a page that is no array of objects is named.
    @Test func realAnswersStillRead() async throws {
        let lfsOID = String(repeating: "a", count: 64)
        let tree =
            "[" + Self.fileItem("a.txt") + #",{"type":"directory","oid":"\#(String(repeating: "2", count: 40))","size":0,"path":"d"}"#
            + #",{"type":"file","oid":"\#(String(repeating: "3", count: 40))","size":9,"path":"d/w.bin","#
            + #""lfs":{"oid":"\#(lfsOID)","size":9,"pointerSize":130},"xetHash":"ff","lastCommit":null}]"#
        try await withClient(tree: Array(tree.utf8)) { client in
            #expect(try await client.lookup(repoID: Self.repo, revision: "main") == .found(commit: Self.commit))
            let files = try await client.files(repoID: Self.repo, commit: Self.commit)
            #expect(files.map(\.path) == ["a.txt", "d/w.bin"])
            #expect(files.last?.blobID == lfsOID)
        }
        try await withClient(tree: Array("[1,2]".utf8)) { client in
            let message = await failure { _ = try await client.files(repoID: Self.repo, commit: Self.commit) }
            #expect(message.contains("is not the JSON the Hub answers"), "\(message)")
        }
    }

    @Test func shapesAreCountedWithoutParsing() {
        #expect(HubUpstreamJSON.shape(of: Data(#"[{},{"a":[1,"x,]"]},true]"#.utf8)) == .init(values: 8, topLevelValues: 3))
        #expect(HubUpstreamJSON.shape(of: Data(#"{"s":"a\"b","n":-1.5e3}"#.utf8)) == .init(values: 5, topLevelValues: 4))
        // The count stops past its limit.
        #expect(HubUpstreamJSON.shape(of: Data("[0,0,0,0,0,0]".utf8), limit: 2).values == 3)
    }

    /// At most `limit` reads run; the others wait their turn, and a waiter that is
    /// cancelled stops waiting without taking a turn.
    @Test func readsRunAtMostLimitAtOnce() async throws {
        let reads = HubUpstreamReads(limit: 4)
        let entered = ReplayShared(0)
        let open = ReplayShared(false)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    try await reads.run {
                        entered.update { $0 += 1 }
                        while !open.get() { try await Task.sleep(for: .milliseconds(20)) }
                    }
                }
            }
            let four = try await eventually(timeout: .seconds(60)) { entered.get() >= 4 }
            #expect(four)
            // The others are queued behind the four, whatever the load: none may enter.
            try await Task.sleep(for: .milliseconds(300))
            #expect(entered.get() == 4)
            #expect(reads.running == 4)
            let cancelled = Task { try await reads.run { entered.update { $0 += 100 } } }
            try await Task.sleep(for: .milliseconds(100))
            cancelled.cancel()
            await #expect(throws: CancellationError.self) { try await cancelled.value }
            open.set(true)
            try await group.waitForAll()
        }
        #expect(entered.get() == 10)
        #expect(reads.running == 0)
    }
}
