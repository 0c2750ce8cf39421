import AtmoStore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A minimal HTTP/1.1 client for tests that watch a child process (`/health`, the catalog):
/// one blocking GET on loopback with `Connection: close`, run off the cooperative pool.
/// Deliberately independent of the code under test.
public enum HTTPProbe {
    public struct Answer: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: Data
    }

    /// Seconds a probe waits for bytes before it gives up (see `get`).
    public static let defaultTimeout = 30.0

    /// `GET path` on `127.0.0.1:port`; nil when the connection is refused, or when nothing
    /// arrives for `timeout` seconds (a limit on each wait for bytes, not on the whole answer).
    /// The default is a guard against a hang, not a speed bound: a loaded CI's nodes were
    /// silent for longer than 5 s, and many tests `#require` the answer. To show that a node
    /// is gone, pass a short one.
    public static func get(port: Int, path: String, timeout: Double = defaultTimeout) async -> Answer? {
        try? await BlockingIO.run { try blockingGet(port: port, path: path, timeout: timeout) }
    }

    /// Decodes the JSON body of a 200 answer.
    public static func getJSON<T: Decodable>(_ type: T.Type, port: Int, path: String, timeout: Double = defaultTimeout) async -> T? {
        guard let answer = await get(port: port, path: path, timeout: timeout), answer.status == 200 else { return nil }
        return try? JSONDecoder().decode(T.self, from: answer.body)
    }

    /// A loopback port the OS just handed out and that nothing listens on now (bound, then
    /// closed): connecting to it is refused.
    public static func unusedPort() throws -> Int {
        let fd = socket(AF_INET, socketStreamType, 0)
        guard fd >= 0 else { throw ProcessFailure(message: "socket: errno \(errno)") }
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw ProcessFailure(message: "bind: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func blockingGet(port: Int, path: String, timeout: Double) throws -> Answer {
        let fd = socket(AF_INET, socketStreamType, 0)
        guard fd >= 0 else { throw ProcessFailure(message: "socket: errno \(errno)") }
        defer { close(fd) }
        var time = timeval(tv_sec: Int(timeout), tv_usec: .init(Int((timeout - timeout.rounded(.down)) * 1_000_000)))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var address = loopback(port: port)
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { throw ProcessFailure(message: "connect to port \(port): errno \(errno)") }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else {
            throw ProcessFailure(message: "send: errno \(errno)")
        }
        var response = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while response.count < 64 << 20 {
            let got = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if got == 0 { break }
            guard got > 0 else { throw ProcessFailure(message: "recv: errno \(errno)") }
            response += chunk[0..<got]
        }
        return try parse(response)
    }

    static func parse(_ bytes: [UInt8]) throws -> Answer {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = (0..<max(0, bytes.count - 3)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else {
            throw ProcessFailure(message: "incomplete HTTP answer of \(bytes.count) bytes")
        }
        let head = String(decoding: bytes[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = head.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw ProcessFailure(message: "bad status line '\(head.first ?? "")'")
        }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Answer(status: status, headers: headers, body: Data(bytes[(end + 4)...]))
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr = in_addr(s_addr: inet_addr("127.0.0.1"))
        return address
    }

    #if canImport(Glibc)
        static let socketStreamType = Int32(SOCK_STREAM.rawValue)
    #else
        static let socketStreamType = SOCK_STREAM
    #endif
}
