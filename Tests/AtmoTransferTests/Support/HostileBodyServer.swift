import AtmoProtocol
import Foundation
import NIOCore

@testable import AtmoTransfer

/// A loopback server that answers every range request for one file with a body that costs
/// the client time or CPU: an error answer whose body trickles or stops, or a valid 206 sent
/// chunked in tiny chunks. Raw bytes, since an HTTP server library will not answer so.
final class HostileBodyServer: Sendable {
    enum Answer: Sendable {
        /// `status` with `Content-Length: 4000`, then one body byte every `interval`,
        /// `bytes` of them, then the connection is closed.
        case tricklingError(status: Int, interval: TimeAmount, bytes: Int)
        /// `status` with `Content-Length: 4000`, one body byte, then nothing (the
        /// connection stays open until `stop`).
        case silentError(status: Int)
        /// The range asked for as a 206 with `Transfer-Encoding: chunked`, in chunks of
        /// `chunkBytes`, all written at once.
        case chunked(chunkBytes: Int)
    }

    let bytes: Data
    let entry: ModelEntry
    let answer: Answer
    /// How long each answer waits before its head goes out (a loaded or far peer).
    let headDelay: TimeAmount
    private let listener = RawHeadListener()

    init(size: Int = 512 * 1024, answer: Answer, headDelay: TimeAmount = .zero) {
        self.headDelay = headDelay
        bytes = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) })
        entry = ModelEntry(
            modelID: "hostile-body", name: "Hostile", type: "llm", format: "gguf", sizeBytes: Int64(size),
            sha256: SHA256Hex.of(bytes), version: "1")
        self.answer = answer
    }

    /// Starts listening on `127.0.0.1:{free port}`; returns the base URL.
    func start() async throws -> String {
        try await listener.start(answering: self)
    }

    func stop() async {
        await listener.stop()
    }
}

extension HostileBodyServer: RawHeadAnswering {
    func reply(to head: String, context: ChannelHandlerContext) {
        guard headDelay > .zero else {
            respond(to: head, context: context)
            return
        }
        context.eventLoop.assumeIsolated().scheduleTask(in: headDelay) {
            guard context.channel.isActive else { return }
            self.respond(to: head, context: context)
        }
    }

    private func respond(to head: String, context: ChannelHandlerContext) {
        let size = Int64(bytes.count)
        let (first, last) = RangeRequestHeads.range(in: head, size: size)
        var out = context.channel.allocator.buffer(capacity: 1024)
        switch answer {
        case .tricklingError(let status, let interval, let count):
            out.writeString("HTTP/1.1 \(status) Error\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n")
            context.writeAndFlush(NIOAny(out), promise: nil)
            trickle(count, every: interval, context: context)
        case .silentError(let status):
            out.writeString("HTTP/1.1 \(status) Error\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{")
            context.writeAndFlush(NIOAny(out), promise: nil)
        case .chunked(let chunkBytes):
            let etag = ByteRangeHeaders.etag(sha256: entry.sha256)
            out.writeString(
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes \(first)-\(last)/\(size)\r\nETag: \(etag)\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n")
            let body = bytes.subdata(in: Int(first)..<Int(last + 1))
            var offset = 0
            while offset < body.count {
                let count = min(chunkBytes, body.count - offset)
                out.writeString(String(count, radix: 16) + "\r\n")
                out.writeBytes(body[offset..<offset + count])
                out.writeString("\r\n")
                offset += count
            }
            out.writeString("0\r\n\r\n")
            context.writeAndFlush(NIOAny(out), promise: nil)
        }
    }

    /// One byte of a JSON-looking body every `interval`, `count` of them, then a close.
    private func trickle(_ count: Int, every interval: TimeAmount, context: ChannelHandlerContext) {
        guard count > 0, context.channel.isActive else {
            context.close(promise: nil)
            return
        }
        context.eventLoop.assumeIsolated().scheduleTask(in: interval) {
            guard context.channel.isActive else { return }
            var byte = context.channel.allocator.buffer(capacity: 1)
            byte.writeString(" ")
            context.writeAndFlush(NIOAny(byte), promise: nil)
            self.trickle(count - 1, every: interval, context: context)
        }
    }
}
