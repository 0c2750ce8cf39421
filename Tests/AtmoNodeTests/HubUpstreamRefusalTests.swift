import AtmoTesting
import Foundation
import NIOHTTP1
import Testing

@testable import AtmoNode

/// The Hub's answers on access and rate limits, read as `huggingface_hub` reads them
/// (`hf_raise_for_status`, `parse_ratelimit_headers`, `_parse_retry_after`), numbers bounded.
struct HubUpstreamRefusalTests {
    @Test func rateLimitsWaitWhatTheHubSays() throws {
        let limited = try #require(
            HubUpstreamRefusal.from(
                status: .tooManyRequests,
                headers: ["RateLimit": #""api";r=0;t=55"#, "RateLimit-Policy": #""fixed window";"api";q=500;w=300"#]))
        #expect(limited.kind == .rateLimited)
        #expect(limited.retryAfter == .seconds(55))
        // Requests remain: the RateLimit header is not the reason; Retry-After is.
        let retry = HubUpstreamRefusal.from(
            status: .tooManyRequests, headers: ["RateLimit": #""resolvers";r=12;t=55"#, "Retry-After": "7"])
        #expect(retry?.retryAfter == .seconds(7))
        // Hostile or missing numbers: a second at least, an hour at most; an HTTP-date is not read.
        #expect(HubUpstreamRefusal.from(status: .tooManyRequests, headers: [:])?.retryAfter == .seconds(1))
        #expect(HubUpstreamRefusal.from(status: .tooManyRequests, headers: ["Retry-After": "999999999"])?.retryAfter == .seconds(3600))
        #expect(HubUpstreamRefusal.from(status: .tooManyRequests, headers: ["Retry-After": "9999999999999"])?.retryAfter == .seconds(1))
        #expect(
            HubUpstreamRefusal.from(status: .tooManyRequests, headers: ["Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"])?.retryAfter
                == .seconds(1))
        #expect(HubUpstreamRefusal.from(status: .tooManyRequests, headers: ["Retry-After": "-5"])?.retryAfter == .seconds(1))
        #expect(HubUpstreamRefusal.from(status: .tooManyRequests, headers: ["RateLimit": #""api";r=0;t=0"#])?.retryAfter == .seconds(1))
    }

    @Test func accessAnswersKeepTheHubsCodeAndMessage() throws {
        let gated = try #require(
            HubUpstreamRefusal.from(
                status: .unauthorized,
                headers: ["X-Error-Code": "GatedRepo", "X-Error-Message": "Access to model a/b is restricted.\u{7}\r\nX-Evil: 1"]))
        #expect(gated.kind == .gated)
        #expect(gated.status == 401)
        #expect(gated.code == "GatedRepo")
        #expect(gated.message == "Access to model a/b is restricted.X-Evil: 1")
        #expect(HubUpstreamRefusal.from(status: .forbidden, headers: ["X-Error-Code": "GatedRepo"])?.status == 403)
        let denied = try #require(HubUpstreamRefusal.from(status: .forbidden, headers: ["X-Error-Code": "Not a word!"]))
        #expect(denied.kind == .denied)
        #expect(denied.code == nil)
        #expect(HubUpstreamRefusal.from(status: .notFound, headers: ["X-Error-Code": "GatedRepo"]) == nil)
        #expect(HubUpstreamRefusal.from(status: .badGateway, headers: [:]) == nil)
        let long = String(repeating: "x", count: 5000)
        #expect(HubUpstreamRefusal.from(status: .forbidden, headers: ["X-Error-Message": long])?.message.count == 300)
    }

    /// A lookup's 401: `RepoNotFound` or no code is the Hub's "not found" to an anonymous
    /// client; `GatedRepo` and a refused token are not.
    @Test func lookupMissesAreNotRefusals() {
        #expect(HubUpstreamClient.miss(status: .unauthorized, headers: ["X-Error-Code": "RepoNotFound"]) == .repository)
        #expect(HubUpstreamClient.miss(status: .unauthorized, headers: [:]) == .repository)
        #expect(HubUpstreamClient.miss(status: .unauthorized, headers: ["X-Error-Code": "GatedRepo"]) == nil)
        #expect(
            HubUpstreamClient.miss(status: .unauthorized, headers: ["X-Error-Message": "Invalid credentials in Authorization header"])
                == nil)
        #expect(HubUpstreamClient.miss(status: .notFound, headers: ["X-Error-Code": "RevisionNotFound"]) == .revision)
    }

    @Test func etagsAreNormalizedAsTheClientNamesBlobs() {
        #expect(HubUpstreamClient.normalizedETag(#"W/"ABC123""#) == "abc123")
        #expect(HubUpstreamClient.normalizedETag(#" "abc" "#) == "abc")
        #expect(HubUpstreamClient.bucket(of: "https://huggingface.co/a/b/resolve/main/x") == "resolvers")
        #expect(HubUpstreamClient.bucket(of: "https://huggingface.co/api/models/a/b/tree/main") == "api")
    }

    /// A rate-limited blob waits what the upstream asked, not the node's doubling backoff,
    /// and its refusal is remembered while it waits.
    @Test func aRateLimitedBlobWaitsTheUpstreamsTime() {
        var backoff = HubUpstreamBackoff(base: .seconds(30))
        let now = ContinuousClock.now
        let limited = HubUpstreamRefusal(kind: .rateLimited, status: 429, message: "", retryAfter: .seconds(90))
        backoff.failed("a", now: now, refusal: limited)
        #expect(backoff.wait("a", now: now) == .seconds(90))
        #expect(backoff.refusal("a", now: now) == limited)
        #expect(backoff.refusal("a", now: now + .seconds(91)) == nil)
        backoff.failed("b", now: now)
        #expect(backoff.wait("b", now: now) == .seconds(30))
        #expect(backoff.refusal("b", now: now) == nil)
    }

    /// `--upstream-token-file`: one token, whitespace around it dropped; anything that could
    /// split a header, or is not one token, is refused at start.
    @Test func theTokenFileHoldsOneToken() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.sub("token")
            try Data("  hf_AbC123-xyz\n".utf8).write(to: URL(fileURLWithPath: path))
            #expect(try HubUpstreamToken.read(path: path) == "hf_AbC123-xyz")
            for bad in ["", " \n", "hf_a b", "hf_a\r\nX-Evil: 1", String(repeating: "a", count: 5000)] {
                try Data(bad.utf8).write(to: URL(fileURLWithPath: path))
                #expect(throws: ConfigFileError.self, "\(bad.prefix(20))") { try HubUpstreamToken.read(path: path) }
            }
            #expect(throws: ConfigFileError.self) { try HubUpstreamToken.read(path: directory.sub("missing")) }
        }
    }
}
