import AtmoTesting
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP client for requests whose exact bytes matter (odd heads, half heads,
/// sockets that send nothing). Every call is bounded by the socket's deadline; the work runs
/// on a thread of its own, never on the cooperative pool; one thread at a time uses a socket.
final class RawSocket: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let fd: Int32
    let deadline: Date

    /// Connects to `127.0.0.1:port`; every later call fails after `timeout` seconds from now.
    init(port: Int, timeout: Double = 20) throws {
        deadline = Date().addingTimeInterval(timeout)
        fd = try LoopbackSocket.connect(port: port, readTimeout: 0.2)
    }

    deinit { Glibc.close(fd) }

    /// Sends `text` (a failed send is ignored: the server may have closed already).
    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Everything the server sends until it closes the connection (a reset counts as a
    /// close); fails at the deadline.
    func readUntilClosed() throws -> String {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while Date() < deadline {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                received += chunk[0..<n]
            } else if n == 0 || errno == ECONNRESET {
                return String(decoding: received, as: UTF8.self)
            } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                throw Failure(description: "recv: errno \(errno)")
            }
        }
        throw Failure(description: "the connection was still open at the deadline")
    }

    /// Reads until `marker` arrived (or the connection closed); fails at the deadline.
    func read(until marker: String) throws -> String {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while Date() < deadline {
            let text = String(decoding: received, as: UTF8.self)
            if text.contains(marker) { return text }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                received += chunk[0..<n]
            } else if n == 0 || errno == ECONNRESET {
                return text
            } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                throw Failure(description: "recv: errno \(errno)")
            }
        }
        throw Failure(description: "no \(marker.debugDescription) before the deadline")
    }

    /// Runs blocking socket work on a thread of its own.
    static func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }

    /// One request on a fresh connection; everything answered until the server closes.
    static func exchange(port: Int, _ request: String, timeout: Double = 10) async throws -> String {
        try await blocking {
            let socket = try RawSocket(port: port, timeout: timeout)
            socket.send(request)
            return try socket.readUntilClosed()
        }
    }
}
