import AtmoTesting
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A `text/event-stream` GET on a plain blocking socket: the head, then the stream's text
/// read as it comes (every call bounded by a deadline). Use from `RawHTTP.blocking`.
final class EventStreamConnection: @unchecked Sendable {
    let fd: Int32
    private(set) var status = 0
    private(set) var headers: [(name: String, value: String)] = []
    /// Everything read after the head, chunked framing included (for a 200: the stream's
    /// text; else the body so far).
    private(set) var text = ""
    private var closed = false
    /// The server ended the connection (a read found its end).
    private(set) var ended = false

    init(port: Int, path: String = "/v1/events", headers extra: [String] = [], from source: String? = nil) throws {
        fd = try LoopbackSocket.connect(port: port, readTimeout: 0.2, writeTimeout: 2, from: source)
        let lines = ["GET \(path) HTTP/1.1", "Host: 127.0.0.1:\(port)", "Accept: text/event-stream"] + extra
        let request = Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
        let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.count else {
            close()
            throw RawHTTP.Failure(description: "send: errno \(errno)")
        }
    }

    /// Reads until the head arrived (status and headers set). The deadline is a guard
    /// against a hang, not a speed bound: a loaded CI's nodes took over 20 s to answer.
    func readHead(timeout: Double = 60) throws {
        var raw = [UInt8]()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let end = find([13, 10, 13, 10], in: raw) {
                let head = String(decoding: raw[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
                status = Int(head[0].split(separator: " ")[1]) ?? 0
                headers = head.dropFirst().compactMap { line in
                    guard let colon = line.firstIndex(of: ":") else { return nil }
                    return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                }
                text = String(decoding: raw[(end + 4)...], as: UTF8.self)
                return
            }
            guard let more = try receive() else { break }
            raw += more
        }
        throw RawHTTP.Failure(description: "no response head within \(timeout) s")
    }

    /// Reads until `condition(text)` holds; false when the deadline passed or the stream ended
    /// first. It returns as soon as the condition holds, so the default deadline is only a
    /// hang guard; pass a short one where the wait's result does not matter.
    func read(until condition: (String) -> Bool, timeout: Double = 60) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition(text) {
            guard Date() < deadline, let more = try receive() else { return false }
            text += String(decoding: more, as: UTF8.self)
        }
        return true
    }

    /// Some bytes ([] when none came within the socket's read timeout); nil at the end.
    private func receive() throws -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 { return Array(chunk[0..<n]) }
        if n == 0 {
            ended = true
            return nil
        }
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return [] }
        if errno == ECONNRESET {
            ended = true
            return nil
        }
        throw RawHTTP.Failure(description: "recv: errno \(errno)")
    }

    func header(_ name: String) -> String? { headers.first { $0.name == name.lowercased() }?.value }

    /// The `data` of every event named `name`, in order.
    func events(_ name: String) -> [String] {
        // Without the "\r" of the chunked framing ("\r\n" is one Character, which no "\n" splits).
        let plain = String(String.UnicodeScalarView(text.unicodeScalars.filter { $0 != "\r" }))
        return plain.components(separatedBy: "\n\n").compactMap { block in
            let lines = block.components(separatedBy: "\n")
            guard lines.contains("event: \(name)") else { return nil }
            return lines.first { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }
        }
    }

    /// The `version` of each `name` event (`mesh`, `node`).
    func versions(_ name: String) -> [UInt64] {
        events(name).compactMap { data in
            (((try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any])?["version"] as? NSNumber)?.uint64Value
        }
    }

    func close() {
        guard !closed else { return }
        closed = true
        LoopbackSocket.close(fd)
    }

    deinit { close() }

    private func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where Array(haystack[start..<start + needle.count]) == needle {
            return start
        }
        return nil
    }
}
