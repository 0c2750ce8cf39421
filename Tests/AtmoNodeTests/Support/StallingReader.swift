import AtmoTesting
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A blocking client of 127.0.0.1 that sends one request and then reads its answer as a
/// test decides: not at all for a while (a client that stopped reading), slowly, or all at
/// once. Its receive buffer can be made small before it connects, so that the node's side
/// fills quickly. Every read is bounded (1 s receive timeout, a deadline per call).
final class StallingReader {
    let fd: Int32
    /// Bytes read so far (head and body).
    private(set) var received = 0
    /// The first bytes of the answer (its status line).
    private(set) var start: [UInt8] = []
    /// The head's bytes until its blank line is found (16 KiB at most), and its length then.
    private var head: [UInt8] = []
    private(set) var headLength: Int?
    /// Body bytes read so far, once the whole head has come.
    var bodyReceived: Int? { headLength.map { received - $0 } }
    private var closed = false

    init(port: Int, receiveBuffer: Int? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawHTTP.Failure(description: "socket: errno \(errno)") }
        if var size = receiveBuffer.map(Int32.init) {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var time = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            throw RawHTTP.Failure(description: "connect: errno \(code)")
        }
    }

    /// Sends `GET target` (`Connection: close`).
    func get(_ target: String) throws {
        let bytes = Array("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == bytes.count else { throw RawHTTP.Failure(description: "send: errno \(errno)") }
    }

    /// The answer's status code, once its status line was read.
    var status: Int? {
        let text = String(decoding: start.prefix(12), as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 ") else { return nil }
        return Int(text.dropFirst(9).prefix(3))
    }

    /// One read of at most `count` bytes: its size, 0 at the end of the stream (or a reset),
    /// nil when nothing came within the receive timeout.
    private func readOnce(_ count: Int) -> Int? {
        var chunk = [UInt8](repeating: 0, count: count)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 {
            if start.count < 16 { start += chunk[0..<min(n, 16 - start.count)] }
            if headLength == nil, head.count < 16 << 10 {
                // `head` holds the stream from its first byte: an index in it is an offset.
                let searchFrom = max(0, head.count - 3)
                head += chunk[0..<min(n, (16 << 10) - head.count)]
                let blankLine: [UInt8] = [13, 10, 13, 10]
                if let at = (searchFrom..<max(searchFrom, head.count - 3)).first(where: { head[$0..<$0 + 4].elementsEqual(blankLine) }) {
                    headLength = at + 4
                }
            }
            received += n
            return n
        }
        if n < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return nil }
        return 0
    }

    /// Reads up to `bytes` every `interval` for `duration` (a slow but steady reader).
    /// False if the stream ended meanwhile.
    func readSlowly(bytes: Int, every interval: Double, for duration: Double) -> Bool {
        let end = Date().addingTimeInterval(duration)
        while Date() < end {
            var step = 0
            while step < bytes {
                guard let n = readOnce(bytes - step) else { break }
                if n == 0 { return false }
                step += n
            }
            Thread.sleep(forTimeInterval: interval)
        }
        return true
    }

    /// Reads only the status line (a few bytes), within `seconds`; false if the stream
    /// ended first or nothing came.
    func readStatus(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while status == nil, Date() < deadline {
            if readOnce(16 - start.count) == 0 { return false }
        }
        return status != nil
    }

    /// Reads everything until the server ends the stream, within `seconds`: true when it
    /// ended (a close or a reset), false at the deadline.
    func readToEnd(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if readOnce(1 << 20) == 0 { return true }
        }
        return false
    }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }
}
