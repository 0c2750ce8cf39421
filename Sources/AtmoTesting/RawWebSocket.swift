import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A WebSocket client over a plain blocking TCP socket, for frames no real client would send
/// (unmasked, invalid UTF-8). Every call runs on a thread of its own and is bounded by a
/// deadline; the socket is closed by `close()` or when the value goes away.
public final class RawWebSocket: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// A frame from the server.
    public struct Frame: Sendable {
        public var opcode: UInt8
        public var payload: [UInt8]
        /// The code of a close frame.
        public var closeCode: UInt16? {
            opcode == 0x8 && payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil
        }
        public var text: String { String(decoding: payload, as: UTF8.self) }
    }

    private let fd: Int32
    private let lock = NSLock()
    private var buffer: [UInt8] = []
    private var closed = false

    private init(fd: Int32) { self.fd = fd }

    deinit { close() }

    /// Connects to `127.0.0.1:port` and upgrades `path`; throws unless the answer is `101`.
    public static func connect(port: Int, path: String, timeout: Double = 10) async throws -> RawWebSocket {
        try await blocking {
            let fd = try LoopbackSocket.connect(port: port, readTimeout: 1, writeTimeout: 1)
            let socket = RawWebSocket(fd: fd)
            let request = """
                GET \(path) HTTP/1.1\r
                Host: 127.0.0.1:\(port)\r
                Upgrade: websocket\r
                Connection: Upgrade\r
                Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
                Sec-WebSocket-Version: 13\r
                \r

                """
            try socket.write(Array(request.utf8))
            let deadline = Date().addingTimeInterval(timeout)
            while socket.headEnd() == nil {
                guard try socket.fill(until: deadline) else { throw Failure(description: "closed during the handshake") }
            }
            let end = socket.headEnd()!
            let head = String(decoding: socket.buffer[..<end], as: UTF8.self)
            socket.buffer.removeFirst(end + 4)
            guard head.hasPrefix("HTTP/1.1 101") else { throw Failure(description: "no upgrade: \(head)") }
            return socket
        }
    }

    /// Sends one frame with FIN set; masked (as a client must) unless `masked` is false.
    public func send(opcode: UInt8, _ payload: [UInt8], masked: Bool = true) async throws {
        var frame: [UInt8] = [0x80 | opcode]
        let maskBit: UInt8 = masked ? 0x80 : 0
        switch payload.count {
        case ..<126: frame.append(maskBit | UInt8(payload.count))
        case ..<65_536: frame += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        default: frame += [maskBit | 127] + (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xff) }
        }
        if masked {
            let key: [UInt8] = [0x37, 0xfa, 0x21, 0x3d]
            frame += key
            frame += payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
        } else {
            frame += payload
        }
        let bytes = frame
        try await Self.blocking { try self.write(bytes) }
    }

    /// Sends a text frame of `text`.
    public func send(text: String, masked: Bool = true) async throws {
        try await send(opcode: 0x1, Array(text.utf8), masked: masked)
    }

    /// Reads frames until a close frame or the end of the connection (nil then), within
    /// `timeout`; returns the frames before it too.
    public func readUntilClosed(timeout: Double = 15) async throws -> (frames: [Frame], close: Frame?) {
        try await Self.blocking {
            let deadline = Date().addingTimeInterval(timeout)
            var frames: [Frame] = []
            while true {
                guard let frame = try self.readFrame(until: deadline) else { return (frames, nil) }
                if frame.opcode == 0x8 { return (frames, frame) }
                frames.append(frame)
            }
        }
    }

    /// Reads the next frame; nil at the end of the connection.
    public func nextFrame(timeout: Double = 15) async throws -> Frame? {
        try await Self.blocking { try self.readFrame(until: Date().addingTimeInterval(timeout)) }
    }

    public func close() {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        posixClose(fd)
    }

    // MARK: - Blocking parts

    private static func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }

    private func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { posixSend(fd, $0.baseAddress, $0.count) }
            guard sent > 0 else { throw Failure(description: "send: errno \(errno)") }
            offset += sent
        }
    }

    /// Reads more bytes into the buffer; false at the end of the connection.
    private func fill(until deadline: Date) throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                buffer += chunk[..<count]
                return true
            }
            if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) { return false }
            guard Date() < deadline else { throw Failure(description: "nothing within the deadline") }
        }
    }

    private func headEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        return (0...(buffer.count - 4)).first { buffer[$0..<($0 + 4)] == [13, 10, 13, 10] }
    }

    private func readFrame(until deadline: Date) throws -> Frame? {
        while true {
            if let (frame, length) = parseFrame() {
                buffer.removeFirst(length)
                return frame
            }
            guard try fill(until: deadline) else { return nil }
        }
    }

    /// A whole server frame at the start of the buffer (servers do not mask), and its length.
    private func parseFrame() -> (Frame, Int)? {
        guard buffer.count >= 2 else { return nil }
        var length = Int(buffer[1] & 0x7f)
        var offset = 2
        if length == 126 {
            guard buffer.count >= 4 else { return nil }
            length = Int(buffer[2]) << 8 | Int(buffer[3])
            offset = 4
        } else if length == 127 {
            guard buffer.count >= 10 else { return nil }
            length = (2..<10).reduce(0) { $0 << 8 | Int(buffer[$1]) }
            offset = 10
        }
        guard buffer.count >= offset + length else { return nil }
        return (Frame(opcode: buffer[0] & 0x0f, payload: Array(buffer[offset..<(offset + length)])), offset + length)
    }
}

// The C calls under names the class's own methods do not shadow.
private func posixClose(_ fd: Int32) {
    _ = close(fd)
}

private func posixSend(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    send(fd, bytes, count, Int32(MSG_NOSIGNAL))
    #else
    send(fd, bytes, count, 0)
    #endif
}
