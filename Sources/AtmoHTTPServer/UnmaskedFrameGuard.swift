import Logging
import NIOCore
import NIOWebSocket

/// RFC 6455 §5.1: every frame a client sends is masked, and a server that receives an
/// unmasked one must close the connection (with 1002, protocol error). NIO's frame decoder
/// unmasks what it reads, and hummingbird-websocket hands the relay data frames without
/// saying whether they were masked, so the check sits in the channel pipeline.
///
/// This handler goes at the head of the pipeline when a server accepts an upgrade (`install`:
/// the relay's `/relay/{mesh_id}`, the node's `/v1/transfers/ws`). It
/// watches the response: a `101` means the WebSocket is up, and before the first bytes
/// after it are handed on, it places `UnmaskedFrameCloser` right after NIO's frame decoder
/// and steps aside. Any other response: the upgrade did not happen, it steps aside at once.
/// (Frames a client sends before it has the `101`, against RFC 6455 §4.1, are read with the
/// request and not checked.)
package final class UnmaskedFrameGuard: ChannelDuplexHandler, RemovableChannelHandler {
    package typealias InboundIn = ByteBuffer
    package typealias InboundOut = ByteBuffer
    package typealias OutboundIn = IOData
    package typealias OutboundOut = IOData

    private enum Phase { case waitingForResponse, upgraded, done }
    private var phase = Phase.waitingForResponse

    package init() {}

    /// Puts a guard at the head of `channel`'s pipeline, from a `shouldUpgrade` callback: it
    /// is queued on the channel's event loop ahead of the upgrade's own steps, so it is in
    /// place before the `101` goes out. The handler is made on the loop (it is not Sendable).
    package static func install(on channel: any Channel, logger: Logger) {
        channel.eventLoop.execute {
            do {
                try channel.pipeline.syncOperations.addHandler(UnmaskedFrameGuard(), position: .first)
            } catch {
                logger.debug("cannot guard a WebSocket against unmasked frames", metadata: ["error": "\(error)"])
            }
        }
    }

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if phase == .waitingForResponse, case .byteBuffer(let buffer) = unwrapOutboundIn(data), buffer.readableBytes >= 12 {
            if buffer.readableBytesView.starts(with: "HTTP/1.1 101".utf8) {
                phase = .upgraded
            } else {
                phase = .done
                context.write(data, promise: promise)
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                return
            }
        }
        context.write(data, promise: promise)
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard phase == .upgraded else {
            context.fireChannelRead(data)
            return
        }
        phase = .done
        let pipeline = context.pipeline.syncOperations
        if let decoder = try? pipeline.context(handlerType: ByteToMessageHandler<WebSocketFrameDecoder>.self) {
            try? pipeline.addHandler(UnmaskedFrameCloser(), position: .after(decoder.handler))
        }
        context.fireChannelRead(data)
        pipeline.removeHandler(context: context, promise: nil)
    }
}

/// Closes the connection with 1002 at the first client frame that is not masked; that frame
/// and any after it are not handed on.
package final class UnmaskedFrameCloser: ChannelInboundHandler, RemovableChannelHandler {
    package typealias InboundIn = WebSocketFrame
    package typealias InboundOut = WebSocketFrame
    package typealias OutboundOut = WebSocketFrame

    private var closing = false

    package init() {}

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard frame.maskKey == nil || closing else {
            context.fireChannelRead(data)
            return
        }
        guard !closing else { return }
        closing = true
        var body = context.channel.allocator.buffer(capacity: 32)
        body.write(webSocketErrorCode: .protocolError)
        body.writeString("unmasked client frame")
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: body)))
            .whenComplete { _ in channel.close(promise: nil) }
    }
}
