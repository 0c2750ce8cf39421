import AtmoProtocol
import Foundation
import NIOCore
import Synchronization

@testable import AtmoTransfer

/// A loopback server that answers range requests for one file with raw bytes, the way
/// `behaviour` says, and counts the connections it accepted: for the wire cases of a
/// `RangeConnection` (keep-alive, a lying `Content-Range`, a short or endless body, a stall,
/// an answer that is not HTTP) that a well-behaved HTTP server library will not produce.
final class RawRangeServer: Sendable {
    enum Answer: Sendable {
        case honest
        /// Honest, with `Connection: close`, then the connection is closed.
        case honestThenClose
        /// `Content-Range` one byte later than asked.
        case lyingContentRange
        /// Another file's ETag.
        case otherETag
        /// The head and this many body bytes, then the connection is closed.
        case shortThenClose(bytes: Int)
        /// The head and this many body bytes, then silence.
        case stall(bytes: Int)
        /// Ten bytes more than asked, announced in `Content-Length`.
        case tooLong
        /// Bytes that are not an HTTP answer.
        case notHTTP
        /// No answer: the connection is closed as the request arrives (an idle timeout that
        /// crossed the request).
        case closeWithoutAnswer
        /// `100 Continue` and `103 Early Hints` heads, then the honest answer.
        case interimThenHonest
        /// Honest, with a header of this many bytes in the head.
        case honestWithHeader(bytes: Int)
        /// Honest, then junk bytes after the body on the kept connection.
        case honestThenJunk
        /// The head one byte every `every`, then the body (never silent for the interval).
        case trickledHead(every: TimeAmount)
    }

    let bytes: Data
    let entry: ModelEntry
    let behaviour: @Sendable (Int) -> Answer
    private let counts = Mutex<(connections: Int, requests: Int)>((0, 0))
    private let listener = RawHeadListener()

    var connections: Int { counts.withLock { $0.connections } }
    var requests: Int { counts.withLock { $0.requests } }

    /// `behaviour` gets each request's 0-based number.
    init(size: Int = 512 * 1024, behaviour: @escaping @Sendable (Int) -> Answer = { _ in .honest }) {
        bytes = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        entry = ModelEntry(
            modelID: "raw-model", name: "Raw", type: "llm", format: "gguf", sizeBytes: Int64(size), sha256: SHA256Hex.of(bytes),
            version: "1")
        self.behaviour = behaviour
    }

    /// Starts listening on `127.0.0.1:{free port}`; returns the base URL.
    func start() async throws -> String {
        try await listener.start(answering: self)
    }

    func stop() async {
        await listener.stop()
    }

    private func nextRequest() -> Int {
        counts.withLock { counts in
            defer { counts.requests += 1 }
            return counts.requests
        }
    }
}

extension RawRangeServer: RawHeadAnswering {
    func accepted() {
        counts.withLock { $0.connections += 1 }
    }

    func reply(to head: String, context: ChannelHandlerContext) {
        let size = Int64(bytes.count)
        let (first, last) = RangeRequestHeads.range(in: head, size: size)
        var body = bytes.subdata(in: Int(first)..<Int(last + 1))
        var range = "bytes \(first)-\(last)/\(size)"
        var etag = ByteRangeHeaders.etag(sha256: entry.sha256)
        var extra = ""
        var closeAfter = false
        let behaviour = self.behaviour(nextRequest())
        if case .closeWithoutAnswer = behaviour {
            context.close(promise: nil)
            return
        }
        switch behaviour {
        case .honest: break
        case .honestThenClose:
            extra = "Connection: close\r\n"
            closeAfter = true
        case .lyingContentRange: range = "bytes \(first + 1)-\(last + 1)/\(size)"
        case .otherETag: etag = ByteRangeHeaders.etag(sha256: String(repeating: "0", count: 64))
        case .honestWithHeader(let count): extra = "X-Padding: \(String(repeating: "p", count: count))\r\n"
        case .shortThenClose, .stall, .tooLong, .notHTTP, .closeWithoutAnswer, .interimThenHonest, .honestThenJunk, .trickledHead: break
        }
        var length = body.count
        switch behaviour {
        case .shortThenClose(let count):
            body = body.prefix(count)
            closeAfter = true
        case .stall(let count):
            // The rest never comes; the connection stays open.
            body = body.prefix(count)
        case .tooLong:
            body += Data(repeating: 0x2A, count: 10)
            length = body.count
        default: break
        }
        var out = context.channel.allocator.buffer(capacity: body.count + 512)
        if case .interimThenHonest = behaviour {
            out.writeString("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n")
        }
        if case .notHTTP = behaviour {
            out.writeString("SSH-2.0-OpenSSH_9.6\r\nthis is not an answer\r\n\r\n")
        } else {
            out.writeString(
                "HTTP/1.1 206 Partial Content\r\nContent-Range: \(range)\r\nETag: \(etag)\r\nContent-Length: \(length)\r\n\(extra)\r\n")
            out.writeBytes(body)
        }
        if case .honestThenJunk = behaviour { out.writeString("GARBAGE after the body\r\n\r\n") }
        if case .trickledHead(let every) = behaviour {
            trickle(out, every: every, context: context)
            return
        }
        let write = context.writeAndFlush(NIOAny(out))
        if closeAfter { write.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }

    /// Writes `bytes` one byte every `every` until the head's end, then the rest at once.
    private func trickle(_ bytes: ByteBuffer, every: TimeAmount, context: ChannelHandlerContext) {
        var bytes = bytes
        guard context.channel.isActive, bytes.readableBytes > 0 else { return }
        let headLeft = bytes.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)).map { $0.upperBound - bytes.readerIndex } ?? 0
        guard headLeft > 0 else {
            context.writeAndFlush(NIOAny(bytes), promise: nil)
            return
        }
        let one = bytes.readSlice(length: 1)!
        context.writeAndFlush(NIOAny(one), promise: nil)
        context.eventLoop.assumeIsolated().scheduleTask(in: every) { self.trickle(bytes, every: every, context: context) }
    }
}
