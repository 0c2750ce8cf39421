import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import AtmoHTTPServer

/// `UnmaskedFrameGuard` on an `EmbeddedChannel`: frames that come after the `101` but before
/// NIO's frame decoder is in place are still checked.
struct UnmaskedFrameGuardTests {
    /// An unmasked binary frame of 2 bytes.
    static let unmaskedFrame: [UInt8] = [0x82, 0x02, 0x61, 0x62]

    @Test func aFrameReadBeforeTheDecoderExistsIsStillChecked() throws {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.pipeline.syncOperations.addHandler(UnmaskedFrameGuard())
        // The 101 is written but not yet flushed: NIO has not added the decoder.
        channel.write(ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\n\r\n"), promise: nil)
        try channel.writeInbound(ByteBuffer(bytes: Self.unmaskedFrame))
        #expect(try channel.readInbound(as: WebSocketFrame.self) == nil)
        // The write completes; NIO's upgrade adds the codec.
        try channel.pipeline.syncOperations.addHandlers([
            WebSocketFrameEncoder(), ByteToMessageHandler(WebSocketFrameDecoder()),
        ])
        channel.flush()
        channel.embeddedEventLoop.run()

        #expect(try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) }?.hasPrefix("HTTP/1.1 101") == true)
        var close: [UInt8] = []
        while let part = try channel.readOutbound(as: ByteBuffer.self) { close += Array(part.readableBytesView) }
        // A close frame (0x88) with 1002 (0x03EA).
        #expect(close.first == 0x88)
        #expect(close.count >= 4 && close[2] == 0x03 && close[3] == 0xEA)
        #expect(try channel.readInbound(as: WebSocketFrame.self) == nil)
        #expect(!channel.isActive)
    }

    @Test func aMaskedFrameReadBeforeTheDecoderExistsIsHandedOnAfterIt() throws {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.pipeline.syncOperations.addHandler(UnmaskedFrameGuard())
        channel.write(ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\n\r\n"), promise: nil)
        // A masked binary frame of 2 bytes ("ab" under a zero mask).
        try channel.writeInbound(ByteBuffer(bytes: [0x82, 0x82, 0, 0, 0, 0, 0x61, 0x62]))
        try channel.pipeline.syncOperations.addHandlers([
            WebSocketFrameEncoder(), ByteToMessageHandler(WebSocketFrameDecoder()),
        ])
        channel.flush()
        channel.embeddedEventLoop.run()
        let frame = try channel.readInbound(as: WebSocketFrame.self)
        #expect(frame?.opcode == .binary)
        #expect(frame.map { String(buffer: $0.unmaskedData) } == "ab")
        #expect(throws: (any Error).self) { try channel.pipeline.syncOperations.context(handlerType: UnmaskedFrameGuard.self) }
        _ = try? channel.finish()
    }
}
