import AtmoTesting
import Foundation
import Testing

@testable import AtmoNode

/// A node whose `--upstream` holds its four read turns with lookups it never answers: the
/// next Hub client is told, over HTTP, that the upstream is busy (`503`, `Retry-After`, the
/// reason in `X-Error-Message` as `huggingface_hub` reads it), and nothing more is asked of
/// the upstream.
struct HubUpstreamBusyNodeTests {
    @Test func aHubClientBehindStalledUpstreamReadsGetsA503ToRetry() async throws {
        let stalled = (1...4).map { "/api/models/atmo-test/stalled-\($0)/revision/main" }
        let fake = try await FakeHubUpstream { path, _ in
            stalled.contains(path) ? FakeHubUpstream.Reply(bytes: [], hang: true) : nil
        }
        do {
            try await withTemporaryDirectory { directory in
                let cache = directory.sub("hub")
                try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
                try await withHubNode(
                    state: directory.sub("state"), cache: cache,
                    configure: { configuration in
                        configuration.hubUpstream = fake.baseURL
                        configuration.hubUpstreamReadWait = .milliseconds(500)
                    }
                ) { node in
                    // Four lookups the upstream never answers hold every turn (their clients
                    // give up when the node stops; RawHTTP's 120 s is a hang guard).
                    let holders = (1...4).map { index in
                        Task {
                            try await RawHTTP.send(
                                port: node.port, RawHTTP.request("GET", "/api/models/atmo-test/stalled-\(index)/revision/main"),
                                timeout: 120)
                        }
                    }
                    defer { for holder in holders { holder.cancel() } }
                    let asked = try await eventually(timeout: .seconds(60)) { stalled.allSatisfy { fake.requests($0) == 1 } }
                    try #require(asked, "the four stalled lookups reached the upstream")

                    let busy = try await RawHTTP.get(port: node.port, "/api/models/atmo-test/wanted/revision/main")
                    #expect(busy.status == 503, "\(busy.status)")
                    #expect(busy.header("Retry-After") == String(HubAnswers.retryBusyAfterSeconds))
                    let message = busy.header("X-Error-Message") ?? ""
                    #expect(message.contains("is busy") && message.contains(fake.baseURL), "\(message)")
                    #expect(fake.requests("/api/models/atmo-test/wanted/revision/main") == 0, "the busy lookup was not sent")
                }
            }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }
}
