import Foundation

/// A loopback HTTP/1.1 server (port 0) that answers every request with what `answer`
/// returns for its method, target and headers, then closes the connection; it records
/// every request. The building block of `HubBehaviourReplay` (one instance plays the Hub's
/// host, another the CDN's).
final class ReplayHTTPServer: Sendable {
    struct Request: Sendable {
        var method: String
        /// The request target as sent (path and query, percent-encoded).
        var target: String
        /// Header names lowercased.
        var headers: [String: String]

        /// The path, percent-decoded, without the query.
        var path: String {
            let raw = String(target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            return raw.removingPercentEncoding ?? raw
        }

        /// The query's `name=value` pairs, percent-decoded.
        var query: [String: String] {
            guard let question = target.firstIndex(of: "?") else { return [:] }
            var pairs: [String: String] = [:]
            for pair in target[target.index(after: question)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                    String($0).removingPercentEncoding ?? String($0)
                }
                pairs[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            return pairs
        }
    }

    struct Reply: Sendable {
        var status: Int
        var headers: [(String, String)] = []
        var body: [UInt8] = []

        static func json(_ object: Any, status: Int = 200, headers: [(String, String)] = []) -> Reply {
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            return Reply(status: status, headers: [("Content-Type", "application/json; charset=utf-8")] + headers, body: [UInt8](data))
        }
    }

    var port: Int { server.port }
    var baseURL: String { server.baseURL }
    private let server: OneRequestHTTPServer
    private let log: ReplayShared<[Request]>

    init(answer: @escaping @Sendable (Request) -> Reply) async throws {
        let log = ReplayShared<[Request]>([])
        server = try await OneRequestHTTPServer { head in
            let request = Request(method: head.method, target: head.target ?? "/", headers: head.headers)
            log.update { $0.append(request) }
            let reply = answer(request)
            var text = "HTTP/1.1 \(reply.status) Replayed\r\nContent-Length: \(reply.body.count)\r\nConnection: close\r\n"
            for (name, value) in reply.headers { text += "\(name): \(value)\r\n" }
            text += "\r\n"
            return .init(bytes: Array(text.utf8) + (request.method != "HEAD" ? reply.body : []))
        }
        self.log = log
    }

    /// Every request so far, in order.
    var requests: [Request] { log.get() }

    func stop() async { await server.stop() }
}
