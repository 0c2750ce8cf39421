import AsyncHTTPClient
import AtmoTesting
import Foundation
import HTTPTypes
import Testing

@testable import AtmoNode

/// A read of the upstream's JSON waits for one of `HubUpstreamReads.limit` turns for at most
/// `HubUpstreamReads.wait` (hostile review dec08: behind slow hostile reads it waited as long
/// as they took); past it the client is told the upstream is busy (`503`), and a waiter
/// that timed out or was cancelled leaves every turn to the reads after it.
struct HubUpstreamReadsWaitTests {
    /// Four reads that hold their turns until `release` is set; `body` runs once all four hold one.
    func holdingEveryTurn(_ reads: HubUpstreamReads, _ body: () async throws -> Void) async throws {
        let entered = ReplayShared(0)
        let release = ReplayShared(false)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<reads.limit {
                group.addTask {
                    try await reads.run {
                        entered.update { $0 += 1 }
                        while !release.get() { try await Task.sleep(for: .milliseconds(20)) }
                    }
                }
            }
            let holding = try await eventually { entered.get() == reads.limit }
            #expect(holding)
            do {
                try await body()
            } catch {
                release.set(true)
                throw error
            }
            release.set(true)
            try await group.waitForAll()
        }
        #expect(reads.running == 0)
        #expect(reads.waiting == 0)
    }

    /// Every turn still works: `limit` reads hold one at the same time, none refused.
    func expectEveryTurnFree(_ reads: HubUpstreamReads) async throws {
        let inside = ReplayShared(0)
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<reads.limit {
                group.addTask {
                    try await reads.run {
                        inside.update { $0 += 1 }
                        return try await eventually { inside.get() == reads.limit }
                    }
                }
            }
            for try await together in group { #expect(together) }
        }
        #expect(reads.running == 0)
    }

    /// How `task` ended (nil: it still ran after 60 s, and was cancelled).
    func outcome(of task: Task<Void, any Error>) async throws -> String? {
        let ended = ReplayShared<String?>(nil)
        let watcher = Task {
            do {
                try await task.value
                ended.set("ran")
            } catch {
                ended.set("\(type(of: error)): \(error)")
            }
        }
        let done = try await eventually { ended.get() != nil }
        if !done { task.cancel() }
        await watcher.value
        return done ? ended.get() : nil
    }

    /// A fifth read behind four that never end is refused once `wait` passed (it never runs),
    /// and leaves the four turns to the reads after them.
    @Test func aWaiterPastTheWaitIsRefusedAndLeavesEveryTurn() async throws {
        let reads = HubUpstreamReads(limit: 4, wait: .milliseconds(300))
        let ran = ReplayShared(false)
        try await holdingEveryTurn(reads) {
            let fifth = Task { try await reads.run { ran.set(true) } }
            let ended = try await outcome(of: fifth)
            #expect(ended?.hasPrefix("HubUpstreamBusy") == true, "\(ended ?? "still waiting after 60 s")")
            #expect(reads.running == 4)
            #expect(reads.waiting == 0)
        }
        #expect(!ran.get())
        try await expectEveryTurnFree(reads)
    }

    /// A waiter cancelled before its turn throws `CancellationError` and takes no turn.
    @Test func aCancelledWaiterLeavesEveryTurn() async throws {
        let reads = HubUpstreamReads(limit: 4, wait: .seconds(3600))
        let ran = ReplayShared(false)
        try await holdingEveryTurn(reads) {
            let fifth = Task { try await reads.run { ran.set(true) } }
            let queued = try await eventually { reads.waiting == 1 }
            #expect(queued)
            fifth.cancel()
            let ended = try await outcome(of: fifth)
            #expect(ended?.hasPrefix("CancellationError") == true, "\(ended ?? "still waiting after 60 s")")
            #expect(reads.waiting == 0)
        }
        #expect(!ran.get())
        try await expectEveryTurnFree(reads)
    }

    /// Against a hostile upstream that never answers four lookups: the fifth lookup is told
    /// the upstream is busy without being sent; once the four are gone, lookups run again.
    @Test func aLookupBehindStalledReadsIsToldTheUpstreamIsBusy() async throws {
        let repo = HubUpstreamBoundsTests.repo
        let stalled = (1...4).map { "/api/models/atmo-test/stalled-\($0)/revision/main" }
        let fake = try await FakeHubUpstream { path, _ in
            if stalled.contains(path) { return FakeHubUpstream.Reply(bytes: [], hang: true) }
            guard path == HubUpstreamBoundsTests.infoPath else { return nil }
            return .whole(Array(#"{"sha":"\#(HubUpstreamBoundsTests.commit)"}"#.utf8), headers: ["Content-Type: application/json"])
        }
        do {
            try await HTTPClient.withHTTPClient { http in
                var configured = HubUpstreamClient(http: http, baseURL: fake.baseURL)
                configured.timeout = .seconds(120)
                configured.reads = HubUpstreamReads(limit: 4, wait: .milliseconds(500))
                let client = configured
                let holders = (1...4).map { index in
                    Task { _ = try await client.lookup(repoID: "atmo-test/stalled-\(index)", revision: "main") }
                }
                let asked = try await eventually { stalled.allSatisfy { fake.requests($0) == 1 } }
                #expect(asked)
                #expect(client.reads.running == 4)
                await #expect(throws: HubUpstreamBusy.self) { _ = try await client.lookup(repoID: repo, revision: "main") }
                #expect(fake.requests(HubUpstreamBoundsTests.infoPath) == 0)
                for holder in holders { holder.cancel() }
                for holder in holders { _ = await holder.result }
                #expect(client.reads.running == 0)
                try await withThrowingTaskGroup(of: HubUpstreamClient.Lookup.self) { group in
                    for _ in 0..<4 { group.addTask { try await client.lookup(repoID: repo, revision: "main") } }
                    for try await lookup in group { #expect(lookup == .found(commit: HubUpstreamBoundsTests.commit)) }
                }
                #expect(client.reads.running == 0)
                #expect(client.reads.waiting == 0)
            }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }

    /// What the Hub client gets: `503`, `Retry-After`, and the reason in `X-Error-Message`
    /// (`huggingface_hub` puts it in the `HfHubHTTPError` it raises) and the JSON body.
    @Test func theBusyAnswerIsA503ToRetry() {
        let response = HubAnswers.upstreamBusy(HubUpstreamBusy(waited: .seconds(30), limit: 4), upstream: "https://hub.example")
        #expect(response.status == .serviceUnavailable)
        #expect(response.headers[.retryAfter] == String(HubAnswers.retryBusyAfterSeconds))
        let message = response.headers[.errorMessage] ?? ""
        #expect(message.contains("https://hub.example is busy"), "\(message)")
        #expect(message.contains("retry after"), "\(message)")
        #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
    }
}
