import AsyncHTTPClient
import AtmoTransfer
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

extension HubUpstreamClient {
    /// One request to the upstream, as huggingface.co wants it asked:
    /// - `Accept-Encoding: identity` (the Hub gzips text files for clients that accept it);
    ///   the token, if any, as `Authorization: Bearer`;
    /// - redirects followed by the HTTP client (at most 5, no cycles): a relative one stays
    ///   on the upstream with the token, an absolute one to another host (the CDN's signed
    ///   URL) goes without it: AsyncHTTPClient drops `Authorization` on a redirect to another
    ///   origin (its `transformRequestForRedirect`), which the tests check;
    /// - a `429` of the upstream's own host is waited out (its `RateLimit` reset or
    ///   `Retry-After`) and asked again while the waits stay within `patience`; past that,
    ///   and while the wait of an earlier `429` of the same bucket runs, the request is not
    ///   sent: it throws the rate limit (`HubUpstreamRefusal`).
    func send(_ url: String, accept: String?, timeout: TimeAmount) async throws -> HTTPClientResponse {
        let bucket = Self.bucket(of: url)
        var waited: Duration = .zero
        while true {
            if let left = pace.wait(bucket, now: .now) {
                guard waited + left <= patience else {
                    throw HubUpstreamRefusal(kind: .rateLimited, status: 429, message: "", retryAfter: left)
                }
                try await Task.sleep(for: left)
                waited += left
                continue
            }
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Accept-Encoding", value: "identity")
            if let accept { request.headers.add(name: "Accept", value: accept) }
            if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            let response = try await http.execute(request, timeout: timeout)
            guard response.status == .tooManyRequests, isUpstream(response.url),
                let refusal = HubUpstreamRefusal.from(status: response.status, headers: response.headers)
            else { return response }
            _ = try? await response.body.collect(upTo: 64 << 10, deadline: .now() + timeout)
            pace.limit(bucket, for: refusal.retryAfter ?? .seconds(1), now: .now)
        }
    }

    /// The Hub's rate-limit buckets a request counts in: `resolvers` for `/resolve/` URLs,
    /// `api` for the rest (docs: huggingface.co/docs/hub/rate-limits).
    static func bucket(of url: String) -> String {
        url.contains("/resolve/") ? "resolvers" : "api"
    }

    /// Whether `url` is on the upstream's own origin (scheme, host, port).
    func isUpstream(_ url: URL?) -> Bool {
        guard let url, let base = URL(string: baseURL) else { return false }
        return Self.origin(url) == Self.origin(base)
    }

    static func origin(_ url: URL) -> String {
        let scheme = url.scheme?.lowercased() ?? ""
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        return scheme + "://" + (url.host?.lowercased() ?? "") + ":" + String(port)
    }

    /// The metadata huggingface.co puts on its own answers before the bytes (on the `302` to
    /// the CDN, which carries none of it) must agree with the listing: `X-Linked-Etag` the
    /// file's blob id (the SHA-256 of an LFS file), `X-Linked-Size` its size, `X-Repo-Commit`
    /// the commit. A disagreement fails the download before any byte is fetched. A header
    /// that is absent is not required (a relative `307` carries none). The CDN's own `ETag`
    /// is never read: it is not the file's hash.
    func checkRedirects(_ history: [HTTPClientRequestResponse], file: File, commit: String) throws {
        for hop in history where isUpstream(URL(string: hop.request.url)) {
            let headers = hop.responseHead.headers
            if let etag = headers.first(name: "X-Linked-Etag"), Self.normalizedETag(etag) != file.blobID {
                throw HubUpstreamError("\(file.path): the upstream links etag \(etag), the listing says \(file.blobID)")
            }
            if let size = headers.first(name: "X-Linked-Size"), Int64(size) != file.sizeBytes {
                throw HubUpstreamError("\(file.path): the upstream links \(size) bytes, the listing says \(file.sizeBytes)")
            }
            if let linked = headers.first(name: "X-Repo-Commit"), linked.lowercased() != commit {
                throw HubUpstreamError("\(file.path): the upstream answered for commit \(linked), not \(commit)")
            }
        }
    }

    /// An etag without `W/` and quotes, lowercased (as `huggingface_hub` names blobs).
    static func normalizedETag(_ etag: String) -> String {
        var text = etag.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("W/") { text.removeFirst(2) }
        return text.trimmingCharacters(in: CharacterSet(charactersIn: "\"")).lowercased()
    }
}

/// When the upstream's rate limit lets requests through again, per bucket (`api`,
/// `resolvers`): after a `429`, no request of that bucket is sent before its wait is over.
final class HubUpstreamPace: Sendable {
    private let until = Mutex<[String: ContinuousClock.Instant]>([:])

    /// How long requests of `bucket` must still wait; nil: they may go.
    func wait(_ bucket: String, now: ContinuousClock.Instant) -> Duration? {
        until.withLock { until in
            guard let instant = until[bucket], instant > now else { return nil }
            return instant - now
        }
    }

    /// The upstream answered `429` for `bucket`, asking to wait `wait`.
    func limit(_ bucket: String, for wait: Duration, now: ContinuousClock.Instant) {
        until.withLock { until in
            let instant = now + wait
            if let known = until[bucket], known > instant { return }
            until[bucket] = instant
        }
    }
}
