import NIOCore
import NIOEmbedded
import NIOHTTP1

/// NIO's HTTP/1 client codec run on an `EmbeddedChannel`, for a connection NIO does not own
/// (`SplicedRangeConnection`): encodes one request's head, and parses its answer's head with
/// NIO's parser (llhttp), so this project writes no HTTP parser of its own. One per request.
struct HTTPHeadCodec {
    private let channel = EmbeddedChannel()

    /// The largest answer head read (NIO's own default limit is 80 KiB; a range answer's head
    /// is a few hundred bytes).
    static let maximumHeadBytes = 16 * 1024

    init() throws {
        try channel.pipeline.syncOperations.addHTTPClientHandlers()
    }

    /// The bytes of `head` (a request without a body).
    func encode(_ head: HTTPRequestHead) throws -> ByteBuffer {
        try channel.writeOutbound(HTTPClientRequestPart.head(head))
        try channel.writeOutbound(HTTPClientRequestPart.end(nil))
        var bytes = ByteBuffer()
        while let part = try channel.readOutbound(as: ByteBuffer.self) {
            var part = part
            bytes.writeBuffer(&part)
        }
        return bytes
    }

    /// Where the head ends in `bytes` (the index past its empty line), if it is all there.
    /// `from`: where to start looking (bytes before it were searched already).
    static func headEnd(in bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        var index = max(0, from - 3)
        while index + 3 < bytes.count {
            if bytes[index] == 13, bytes[index + 1] == 10, bytes[index + 2] == 13, bytes[index + 3] == 10 { return index + 4 }
            index += 1
        }
        return nil
    }

    /// The answer's head, parsed from exactly its bytes (status line to the empty line); nil
    /// for an interim (1xx) head, which NIO's decoder drops (the answer's own head follows).
    func decode(_ head: UnsafeRawBufferPointer) throws -> HTTPResponseHead? {
        var bytes = ByteBuffer()
        bytes.writeBytes(head)
        try channel.writeInbound(bytes)
        while let part = try channel.readInbound(as: HTTPClientResponsePart.self) {
            if case .head(let parsed) = part { return parsed }
        }
        return nil
    }

    func finish() {
        _ = try? channel.finish(acceptAlreadyClosed: true)
    }
}
