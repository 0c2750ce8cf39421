import Foundation
import NIOHTTP1

/// A request head refused before routing: the status, a message for the JSON error body,
/// and headers the answer must carry.
package struct RequestHeadError: Error, Sendable, Hashable {
    /// The answer's status code.
    package var status: Int
    /// The answer's `error`.
    package var message: String
    /// The answer's `code`.
    package var code: String?
    /// Extra response headers (`Sec-WebSocket-Version: 13` with 426).
    package var headers: [String: String]

    package init(status: Int, _ message: String, code: String? = nil, headers: [String: String] = [:]) {
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers
    }
}

/// The rules a request head must pass before either server routes it (pure: a head in, a
/// verdict out):
/// - exactly one `Host` in HTTP/1.1, at most one in HTTP/1.0 (RFC 9112 §3.2), else 400;
/// - `Transfer-Encoding` only `chunked` (RFC 9112 §6.1: 400 when chunked is not last, 501
///   for another coding);
/// - `Expect: 100-continue` gets `100 Continue` before a body, or 413 when its
///   `Content-Length` is over the largest body the server reads; another expectation 417
///   (RFC 9110 §10.1.1);
/// - an `Upgrade` that does not name `websocket` (e.g. `h2c`) is ignored and the request
///   answered as HTTP/1.1 (RFC 9110 §7.8);
/// - a WebSocket upgrade on the connection's first request (the only one that may upgrade)
///   is a bodiless HTTP/1.1 GET with one `Sec-WebSocket-Key`, the base64 of 16 bytes, else
///   400, and `Sec-WebSocket-Version: 13`, else 426 (RFC 6455 §4.2.1); its `Upgrade` fields
///   (`h2c, websocket`, or several) become one `Upgrade: websocket`.
package enum RequestHeadCheck {
    package enum Verdict: Equatable, Sendable {
        /// Route this head (the same, or without its `Upgrade`); `sendContinue` when the client
        /// waits for `100 Continue` before its body.
        case pass(HTTPRequestHead, sendContinue: Bool)
        /// Answer with the error and close.
        case refuse(RequestHeadError)
    }

    /// The verdict on `head`. `isFirst`: the connection's first request (only it may
    /// upgrade). `maxBodyBytes`: the largest body the server reads.
    package static func check(_ head: HTTPRequestHead, isFirst: Bool, maxBodyBytes: Int) -> Verdict {
        var head = head
        let isHTTP11 = head.version.major > 1 || (head.version.major == 1 && head.version.minor >= 1)
        let hosts = head.headers["Host"].count
        if hosts > 1 || (hosts == 0 && isHTTP11) {
            return .refuse(RequestHeadError(status: 400, "A request needs exactly one Host header", code: "bad_host"))
        }
        let codings = tokens(head.headers, "Transfer-Encoding")
        if let last = codings.last {
            guard last == "chunked" else {
                return .refuse(RequestHeadError(status: 400, "Transfer-Encoding must end in chunked", code: "bad_transfer_encoding"))
            }
            if let other = codings.first(where: { $0 != "chunked" }) {
                return .refuse(RequestHeadError(status: 501, "Transfer-Encoding \(other) is not supported", code: "bad_transfer_encoding"))
            }
        }
        let length = head.headers["Content-Length"].first.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let hasBody = !codings.isEmpty || (length ?? 0) > 0
        let upgrades = tokens(head.headers, "Upgrade")
        if !upgrades.isEmpty {
            if !upgrades.contains("websocket") {
                head.headers.remove(name: "Upgrade")
            } else if isFirst {
                if let refusal = checkWebSocket(head, isHTTP11: isHTTP11, hasBody: hasBody) { return .refuse(refusal) }
                // The upgrade handlers after the gate read the field themselves (NIO splits it,
                // hummingbird-websocket compares it whole): they get exactly what was decided.
                head.headers.replaceOrAdd(name: "Upgrade", value: "websocket")
            }
        }
        let expectations = tokens(head.headers, "Expect")
        guard !expectations.isEmpty else { return .pass(head, sendContinue: false) }
        guard expectations.allSatisfy({ $0 == "100-continue" }) else {
            return .refuse(RequestHeadError(status: 417, "Only Expect: 100-continue is supported", code: "expectation_failed"))
        }
        // HTTP/1.0 clients do not wait for 100 (RFC 9110 §10.1.1: ignore the expectation).
        guard isHTTP11 else { return .pass(head, sendContinue: false) }
        if let length, length > maxBodyBytes {
            return .refuse(
                RequestHeadError(status: 413, "Request body of \(length) bytes is more than \(maxBodyBytes)", code: "too_large"))
        }
        return .pass(head, sendContinue: hasBody)
    }

    /// Whether `head` asks for a WebSocket upgrade.
    package static func isWebSocketUpgrade(_ head: HTTPRequestHead) -> Bool {
        tokens(head.headers, "Upgrade").contains("websocket")
    }

    /// Whether `key` is a valid `Sec-WebSocket-Key`: the base64 of 16 bytes (RFC 6455 §4.1).
    package static func isValidWebSocketKey(_ key: String) -> Bool {
        let key = key.trimmingCharacters(in: .whitespaces)
        guard key.utf8.count == 24, let bytes = Data(base64Encoded: key) else { return false }
        return bytes.count == 16
    }

    private static func checkWebSocket(_ head: HTTPRequestHead, isHTTP11: Bool, hasBody: Bool) -> RequestHeadError? {
        guard head.method == .GET, isHTTP11, !hasBody else {
            return RequestHeadError(status: 400, "A WebSocket upgrade is a GET of HTTP/1.1 without a body", code: "bad_upgrade")
        }
        guard head.headers["Sec-WebSocket-Version"].map({ $0.trimmingCharacters(in: .whitespaces) }) == ["13"] else {
            return RequestHeadError(
                status: 426, "Sec-WebSocket-Version must be 13", code: "bad_upgrade", headers: ["Sec-WebSocket-Version": "13"])
        }
        let keys = head.headers["Sec-WebSocket-Key"]
        guard keys.count == 1, isValidWebSocketKey(keys[0]) else {
            return RequestHeadError(status: 400, "Sec-WebSocket-Key must be the base64 of 16 bytes", code: "bad_upgrade")
        }
        return nil
    }

    /// The comma-separated tokens of every `name` field, trimmed and lowercased.
    private static func tokens(_ headers: HTTPHeaders, _ name: String) -> [String] {
        headers[name].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .filter { !$0.isEmpty }
    }
}
