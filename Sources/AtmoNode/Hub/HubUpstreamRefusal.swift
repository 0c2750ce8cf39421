import Foundation
import NIOHTTP1

/// An answer of the upstream that is not a failure of the node but the Hub's word on the
/// request: a gated or private repository (401/403), or its rate limit (429). The node gives
/// its own clients the same answer (`HubAnswers.upstreamRefusal`), so `huggingface_hub`
/// raises what it raises against the Hub (`GatedRepoError` by `X-Error-Code: GatedRepo`,
/// and retries a 429 after `Retry-After`) instead of a vague 502.
struct HubUpstreamRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    enum Kind: Sendable, Equatable {
        /// 401/403 with `X-Error-Code: GatedRepo`: the files need an accepted access request
        /// (the Hub answers 401 without a token, 403 for a token not on the list).
        case gated
        /// Another 401/403: a private repository's files, or a token the upstream refused.
        case denied
        /// 429: the upstream's rate limit.
        case rateLimited
    }

    var kind: Kind
    /// The upstream's status (401, 403 or 429).
    var status: Int
    /// The upstream's `X-Error-Code`, when it is a plain word.
    var code: String?
    /// The upstream's `X-Error-Message`, printable and at most 300 characters.
    var message: String
    /// For `rateLimited`: how long the upstream asked to wait (1 s to 1 h).
    var retryAfter: Duration?

    init(kind: Kind, status: Int, code: String? = nil, message: String, retryAfter: Duration? = nil) {
        self.kind = kind
        self.status = status
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }

    var description: String {
        "the upstream answered \(status)" + (code.map { " \($0)" } ?? "") + (message.isEmpty ? "" : ": \(message)")
            + (retryAfter.map { " (retry after \($0))" } ?? "")
    }

    /// The refusal an answer of the upstream's own host is, if any. Not for a CDN's answer:
    /// a CDN's 403 (an expired signed URL) is a failure, not the Hub's word on access.
    static func from(status: HTTPResponseStatus, headers: HTTPHeaders) -> HubUpstreamRefusal? {
        let code = headers.first(name: "X-Error-Code").flatMap(Self.word)
        let message = Self.printable(headers.first(name: "X-Error-Message") ?? "")
        switch status.code {
        case 429:
            return HubUpstreamRefusal(
                kind: .rateLimited, status: 429, code: code, message: message,
                retryAfter: Self.bounded(Self.rateLimitReset(headers) ?? Self.retryAfterSeconds(headers) ?? 1))
        case 401, 403:
            return HubUpstreamRefusal(kind: code == "GatedRepo" ? .gated : .denied, status: Int(status.code), code: code, message: message)
        default:
            return nil
        }
    }

    /// Seconds until the limit resets per the `RateLimit` header (IETF draft, as the Hub
    /// sends it: `"api";r=0;t=55`), when no request remains (`r=0`).
    static func rateLimitReset(_ headers: HTTPHeaders) -> Int64? {
        guard let value = headers.first(name: "RateLimit") else { return nil }
        var remaining: Int64?
        var reset: Int64?
        for field in value.split(separator: ";") {
            let pair = field.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[1].utf8.count <= 9, let number = Int64(pair[1]), number >= 0 else { continue }
            if pair[0] == "r" { remaining = number }
            if pair[0] == "t" { reset = number }
        }
        return remaining == 0 ? reset : nil
    }

    /// `Retry-After` in seconds (the HTTP-date form is not used by the Hub, and not read).
    static func retryAfterSeconds(_ headers: HTTPHeaders) -> Int64? {
        guard let value = headers.first(name: "Retry-After")?.trimmingCharacters(in: .whitespaces), !value.isEmpty,
            value.utf8.count <= 9, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
        else { return nil }
        return Int64(value)
    }

    /// A wait the node honours: at least 1 s, at most an hour (a hostile number is capped).
    static func bounded(_ seconds: Int64) -> Duration {
        .seconds(min(max(seconds, 1), 3600))
    }

    private static func word(_ text: String) -> String? {
        guard !text.isEmpty, text.utf8.count <= 40,
            text.utf8.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) })
        else { return nil }
        return text
    }

    private static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }.prefix(300)))
    }
}
