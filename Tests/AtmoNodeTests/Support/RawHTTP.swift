import AtmoTesting
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A tiny HTTP/1.1 client over a plain TCP socket, for requests whose exact bytes matter
/// (paths a normal client would normalise or encode, odd headers, HEAD framing). Every
/// socket operation is bounded by a receive/send timeout and an overall deadline; the work
/// runs on a thread of its own, never on the cooperative pool.
enum RawHTTP {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// One parsed response.
    struct Response: Sendable {
        var status: Int
        /// Header names lowercased, in order.
        var headers: [(name: String, value: String)]
        var body: [UInt8]

        func header(_ name: String) -> String? {
            let lower = name.lowercased()
            return headers.first { $0.name == lower }?.value
        }

        func headerValues(_ name: String) -> [String] {
            let lower = name.lowercased()
            return headers.filter { $0.name == lower }.map(\.value)
        }

        var bodyText: String { String(decoding: body, as: UTF8.self) }

        var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        }
    }

    /// Runs blocking socket work on a thread of its own: not on the cooperative pool, and
    /// not on Dispatch, whose pool on Linux grows slowly past the number of cores while its
    /// threads block (dozens of parallel tests would wait on each other).
    static func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try work() }) }
            thread.start()
        }
    }

    /// `METHOD target HTTP/1.1` with `Host` and `Connection: close` (unless `keepAlive`), plus
    /// `headers` as given.
    static func request(
        _ method: String, _ target: [UInt8], headers: [String] = [], body: [UInt8] = [], keepAlive: Bool = false
    ) -> [UInt8] {
        var lines = ["Host: 127.0.0.1"] + (keepAlive ? [] : ["Connection: close"]) + headers
        if !body.isEmpty { lines.append("Content-Length: \(body.count)") }
        return Array(method.utf8) + [0x20] + target + Array(" HTTP/1.1\r\n".utf8)
            + Array((lines.map { $0 + "\r\n" }.joined() + "\r\n").utf8) + body
    }

    static func request(
        _ method: String, _ target: String, headers: [String] = [], body: [UInt8] = [], keepAlive: Bool = false
    ) -> [UInt8] {
        request(method, Array(target.utf8), headers: headers, body: body, keepAlive: keepAlive)
    }

    /// Sends `bytes` and reads one response (for `HEAD` no body). Closes the connection.
    /// `timeout` bounds the whole exchange: a guard against a hang (a loaded run's Hub
    /// answers took over 20 s), not a speed bound.
    static func send(port: Int, _ bytes: [UInt8], isHead: Bool = false, timeout: Double = 60) async throws -> Response {
        try await blocking {
            let connection = try Connection(port: port, timeout: timeout)
            defer { connection.close() }
            try connection.write(bytes)
            return try connection.readResponse(isHead: isHead)
        }
    }

    /// Sends `bytes` (several pipelined requests) and reads `methods.count` responses in order.
    static func sendPipelined(port: Int, _ bytes: [UInt8], methods: [String], timeout: Double = 60) async throws -> [Response] {
        try await blocking {
            let connection = try Connection(port: port, timeout: timeout)
            defer { connection.close() }
            try connection.write(bytes)
            return try methods.map { try connection.readResponse(isHead: $0 == "HEAD") }
        }
    }

    static func get(port: Int, _ target: String, headers: [String] = []) async throws -> Response {
        try await send(port: port, request("GET", target, headers: headers))
    }

    static func head(port: Int, _ target: String, headers: [String] = []) async throws -> Response {
        try await send(port: port, request("HEAD", target, headers: headers), isHead: true)
    }

    /// One blocking connection with a read buffer. Not shared between threads.
    final class Connection {
        let fd: Int32
        let deadline: Date
        private var buffer: [UInt8] = []
        private var eof = false

        init(port: Int, timeout: Double) throws {
            deadline = Date().addingTimeInterval(timeout)
            fd = try LoopbackSocket.connect(port: port, readTimeout: 2, writeTimeout: 2)
        }

        private var closed = false

        /// Closes the socket once; later calls do nothing (closing a descriptor twice could
        /// close another test's socket that reused its number, and NIO traps on that).
        func close() {
            guard !closed else { return }
            closed = true
            Glibc.close(fd)
        }

        private func checkDeadline() throws {
            guard Date() < deadline else { throw Failure(description: "raw HTTP exchange timed out") }
        }

        func write(_ bytes: [UInt8]) throws {
            var done = 0
            while done < bytes.count {
                try checkDeadline()
                let n = bytes[done...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n < 0 {
                    if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
                    throw Failure(description: "send: errno \(errno)")
                }
                done += n
            }
        }

        /// Reads more bytes into the buffer; false at end of stream.
        @discardableResult
        private func fill() throws -> Bool {
            guard !eof else { return false }
            var chunk = [UInt8](repeating: 0, count: 256 * 1024)
            while true {
                try checkDeadline()
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n > 0 {
                    buffer.append(contentsOf: chunk[0..<n])
                    return true
                }
                if n == 0 {
                    eof = true
                    return false
                }
                if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
                if errno == ECONNRESET {
                    eof = true
                    return false
                }
                throw Failure(description: "recv: errno \(errno)")
            }
        }

        /// Reads status line and headers.
        func readHead() throws -> (status: Int, headers: [(name: String, value: String)]) {
            let separator: [UInt8] = [13, 10, 13, 10]
            var end: Int?
            while end == nil {
                end = Self.find(separator, in: buffer)
                if end == nil, try !fill() {
                    throw Failure(description: "connection closed before a response head (\(buffer.count) bytes)")
                }
            }
            let headText = String(decoding: buffer[0..<end!], as: UTF8.self)
            buffer.removeFirst(end! + 4)
            var lines = headText.components(separatedBy: "\r\n")
            let statusLine = lines.removeFirst().split(separator: " ")
            guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
                throw Failure(description: "bad status line in \(headText)")
            }
            let headers = lines.compactMap { line -> (name: String, value: String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (
                    line[..<colon].lowercased(),
                    line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                )
            }
            return (status, headers)
        }

        /// Reads `count` body bytes (fewer only when the stream ends).
        func readBytes(_ count: Int) throws -> [UInt8] {
            while buffer.count < count, try fill() {}
            let taken = Array(buffer.prefix(count))
            buffer.removeFirst(taken.count)
            return taken
        }

        /// One whole response: by Content-Length, chunked, or until close.
        func readResponse(isHead: Bool) throws -> Response {
            let (status, headers) = try readHead()
            let response = Response(status: status, headers: headers, body: [])
            if isHead || status == 204 || status == 304 || (100..<200).contains(status) { return response }
            var result = response
            if let length = response.header("content-length").flatMap(Int.init) {
                result.body = try readBytes(length)
            } else if response.header("transfer-encoding")?.lowercased().contains("chunked") == true {
                result.body = try readChunked()
            } else {
                while try fill() {}
                result.body = buffer
                buffer = []
            }
            return result
        }

        private func readChunked() throws -> [UInt8] {
            var body: [UInt8] = []
            while true {
                let lineEnd = try readLine()
                guard let size = Int(lineEnd.split(separator: ";").first ?? "", radix: 16) else {
                    throw Failure(description: "bad chunk size line \(lineEnd)")
                }
                if size == 0 {
                    _ = try readLine()
                    return body
                }
                body += try readBytes(size)
                _ = try readLine()
            }
        }

        private func readLine() throws -> String {
            while true {
                if let end = Self.find([13, 10], in: buffer) {
                    let line = String(decoding: buffer[0..<end], as: UTF8.self)
                    buffer.removeFirst(end + 2)
                    return line
                }
                guard try fill() else { throw Failure(description: "stream ended inside a chunked body") }
            }
        }

        /// True when the peer closed the connection (reads until EOF or the deadline).
        func readUntilClosed() throws -> [UInt8] {
            while try fill() {}
            defer { buffer = [] }
            return buffer
        }

        static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
            guard haystack.count >= needle.count else { return nil }
            for index in 0...(haystack.count - needle.count) where haystack[index] == needle[0] {
                if Array(haystack[index..<(index + needle.count)]) == needle { return index }
            }
            return nil
        }
    }
}
