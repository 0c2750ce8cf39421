import HTTPTypes
import Hummingbird

extension HubAnswers {
    /// This node's answer for what its upstream refused (`HubUpstreamRefusal`): the same
    /// status and `X-Error-Code`, and a message that says the upstream answered, so a client
    /// raises what it raises against the Hub (`GatedRepoError` for `GatedRepo`); a rate
    /// limit is `429` with `Retry-After` (`huggingface_hub` waits that long and retries).
    /// `wait` overrides the refusal's own wait (the time left of it).
    static func upstreamRefusal(_ refusal: HubUpstreamRefusal, upstream: String, wait: Duration? = nil) -> Response {
        var headers = HTTPFields()
        let said = refusal.message.isEmpty ? "" : refusal.message + " "
        let message: String
        let status: HTTPResponse.Status
        switch refusal.kind {
        case .rateLimited:
            let seconds = Self.wholeSeconds(wait ?? refusal.retryAfter ?? .seconds(1))
            headers[.retryAfter] = String(seconds)
            status = .tooManyRequests
            message = "This node's upstream \(upstream) rate-limits it; retry after \(seconds) s"
        case .gated:
            status = refusal.status == 403 ? .forbidden : .unauthorized
            message =
                said + "(answered by this node's upstream \(upstream): the node mirrors a gated repository only with an"
                + " upstream token that has access, see --upstream-token-file)"
        case .denied:
            status = refusal.status == 403 ? .forbidden : .unauthorized
            message = said + "(answered by this node's upstream \(upstream))"
        }
        if let code = refusal.code { headers[.errorCode] = code }
        headers[.errorMessage] = message
        return json(HubBodies.ErrorBody(error: message), status: status, headers: headers)
    }

    /// This node's answer when its reads of the upstream stayed taken (`HubUpstreamBusy`):
    /// `503` with `Retry-After` and the reason as `X-Error-Message` and `{"error"}`, which
    /// `huggingface_hub` raises as an `HfHubHTTPError` naming it (and retries where it
    /// retries a 503).
    static func upstreamBusy(_ busy: HubUpstreamBusy, upstream: String) -> Response {
        var headers = HTTPFields()
        headers[.retryAfter] = String(retryBusyAfterSeconds)
        let message =
            "This node's upstream \(upstream) is busy: its \(busy.limit) reads of it stayed taken for"
            + " \(wholeSeconds(busy.waited)) s; retry after \(retryBusyAfterSeconds) s"
        headers[.errorMessage] = message
        return json(HubBodies.ErrorBody(error: message), status: .serviceUnavailable, headers: headers)
    }

    /// The `Retry-After` of `upstreamBusy`.
    static let retryBusyAfterSeconds = 5

    /// A duration in whole seconds, rounded up, at least 1.
    static func wholeSeconds(_ duration: Duration) -> Int64 {
        max(1, duration.components.seconds + (duration.components.attoseconds > 0 ? 1 : 0))
    }
}
