import AtmoTesting
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback HTTP/1.1 server (port 0) standing in for a Hub upstream that misbehaves as a
/// real node cannot be made to: it answers each request with raw bytes from a script, then
/// closes, or keeps the connection open and silent (`hang`: headers, maybe a few bytes,
/// then nothing). Counts the requests per path.
final class FakeHubUpstream: Sendable {
    /// One scripted answer: the bytes to write, and whether to stay silent afterwards
    /// instead of closing.
    struct Reply: Sendable {
        var bytes: [UInt8]
        var hang = false
        /// Written `delay` after `bytes` (then the connection closes unless `hang`).
        var later: (delay: Duration, bytes: [UInt8])?

        /// A whole `200` (or `status`) answer with `Content-Length`.
        static func whole(_ body: [UInt8], status: Int = 200, headers: [String] = []) -> Reply {
            let head =
                (["HTTP/1.1 \(status) Scripted", "Content-Length: \(body.count)", "Connection: close"] + headers)
                .joined(separator: "\r\n") + "\r\n\r\n"
            return Reply(bytes: Array(head.utf8) + body)
        }

        /// A `200` whose last `tail` bytes come `delay` after the others.
        static func paced(_ body: [UInt8], tail: Int, delay: Duration) -> Reply {
            let head = "HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
            return Reply(bytes: Array(head.utf8) + body.dropLast(tail), later: (delay, Array(body.suffix(tail))))
        }

        static func json(_ object: Any) -> Reply {
            whole(((try? JSONSerialization.data(withJSONObject: object)) ?? Data()).map { $0 }, headers: ["Content-Type: application/json"])
        }

        /// A head announcing `size` bytes, then `prefix` of them, then silence.
        static func stall(size: Int, prefix: [UInt8] = []) -> Reply {
            let head = "HTTP/1.1 200 OK\r\nContent-Length: \(size)\r\nContent-Type: application/octet-stream\r\n\r\n"
            return Reply(bytes: Array(head.utf8) + prefix, hang: true)
        }
    }

    var port: Int { server.port }
    var baseURL: String { server.baseURL }
    private let server: OneRequestHTTPServer
    private let counts: ReplayShared<[String: Int]>

    /// Serves `script(path)` (the path without its query; nil: 404) for every request.
    init(script: @escaping @Sendable (_ path: String, _ attempt: Int) -> Reply?) async throws {
        let counts = ReplayShared<[String: Int]>([:])
        server = try await OneRequestHTTPServer { head in
            let target = head.target.map { String($0.split(separator: "?").first ?? "") } ?? ""
            let path = target.removingPercentEncoding ?? target
            let attempt = counts.update { counts in
                counts[path, default: 0] += 1
                return counts[path] ?? 1
            }
            let reply =
                script(path, attempt)
                ?? .whole(Array(#"{"error":"Repository not found"}"#.utf8), status: 404, headers: ["X-Error-Code: RepoNotFound"])
            return .init(bytes: reply.bytes, hang: reply.hang, later: reply.later)
        }
        self.counts = counts
    }

    /// How many requests asked for `path`.
    func requests(_ path: String) -> Int { counts.update { $0[path] ?? 0 } }

    func stop() async { await server.stop() }
}

/// A client with a read timeout, as `huggingface_hub`'s: one `GET`, the head, then the body
/// as it comes; every `recv` waits at most `readTimeout` seconds.
enum TimedClient {
    struct Result: Sendable {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        /// Why reading stopped before `Content-Length` bytes: `timeout`, `closed`, nil when complete.
        var cut: String?
        /// From the first body byte to the end of reading (zero without a body): how long the
        /// body took to come, whatever the time to its head.
        var bodyDuration: Duration = .zero
    }

    static func get(port: Int, _ target: String, headers: [String] = [], readTimeout: Double) async throws -> Result {
        try await RawHTTP.blocking {
            let fd = try LoopbackSocket.connect(port: port, readTimeout: readTimeout, writeTimeout: 5)
            defer { LoopbackSocket.close(fd) }
            let request =
                (["GET \(target) HTTP/1.1", "Host: 127.0.0.1", "Connection: close"] + headers).joined(separator: "\r\n") + "\r\n\r\n"
            _ = Array(request.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            var data: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 256 * 1024)
            var headEnd: Int?
            var length = Int.max
            var result = Result(status: 0, headers: [:], body: [], cut: nil)
            var firstBodyByte: ContinuousClock.Instant?
            while true {
                if let start = headEnd, data.count - start >= length { break }
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                    result.cut = "timeout"
                    break
                }
                if n <= 0 {
                    result.cut = "closed"
                    break
                }
                data.append(contentsOf: chunk[0..<n])
                if headEnd == nil, let end = data.firstRange(of: Array("\r\n\r\n".utf8)) {
                    headEnd = end.upperBound
                    let lines = String(decoding: data[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
                    result.status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
                    for line in lines.dropFirst() {
                        guard let colon = line.firstIndex(of: ":") else { continue }
                        result.headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                    }
                    length = Int(result.headers["content-length"] ?? "") ?? Int.max
                }
                if firstBodyByte == nil, let start = headEnd, data.count > start { firstBodyByte = ContinuousClock.now }
            }
            if let start = headEnd {
                result.body = Array(data[start...])
                if result.cut != nil, length == Int.max, result.cut == "closed" { result.cut = nil }
            }
            if let firstBodyByte { result.bodyDuration = ContinuousClock.now - firstBodyByte }
            return result
        }
    }
}
