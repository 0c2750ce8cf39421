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
/// and steps aside. NIO adds that decoder only once the `101` is written (later when the
/// client does not read): bytes that come before are held until it is there. Any other response: the upgrade did not happen, it steps aside at once.
/// (Frames a client sends before it has the `101`, against RFC 6455 §4.1, are read with the
/// request and not checked.)
package final class UnmaskedFrameGuard: ChannelDuplexHandler, RemovableChannelHandler {
    package typealias InboundIn = ByteBuffer
    package typealias InboundOut = ByteBuffer
    package typealias OutboundIn = IOData
    package typealias OutboundOut = IOData

    private enum Phase { case waitingForResponse, upgraded, done }
    private var phase = Phase.waitingForResponse
    /// What the client sent after the `101` before NIO's frame decoder was in place.
    private var held: [NIOAny] = []

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
                // NIO adds the frame decoder once this write completes (in callbacks on the
                // same future); bytes held until then are checked right after them.
                let promise = promise ?? context.eventLoop.makePromise()
                promise.futureResult.assumeIsolated().whenComplete { [self] _ in
                    // After NIO's own callbacks on this write, which add the decoder.
                    context.eventLoop.assumeIsolated().execute { self.placeCloserAndRelease(context: context, readComplete: true) }
                }
                context.write(data, promise: promise)
                return
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
        // Until the decoder is there, frames are held: handed on now, they would reach the
        // decoder later (from NIO's upgrade buffer) with nothing behind it to check them.
        held.append(data)
        placeCloserAndRelease(context: context, readComplete: false)
    }

    package func channelInactive(context: ChannelHandlerContext) {
        held.removeAll()
        context.fireChannelInactive()
    }

    /// Once NIO's frame decoder is in the pipeline: puts `UnmaskedFrameCloser` right after it,
    /// hands on what was held and steps aside. Before that, does nothing (the bytes stay held).
    private func placeCloserAndRelease(context: ChannelHandlerContext, readComplete: Bool) {
        guard phase == .upgraded, context.channel.isActive else { return }
        let pipeline = context.pipeline.syncOperations
        guard let decoder = try? pipeline.context(handlerType: ByteToMessageHandler<WebSocketFrameDecoder>.self),
            (try? pipeline.addHandler(UnmaskedFrameCloser(), position: .after(decoder.handler))) != nil
        else { return }
        phase = .done
        let released = held
        held.removeAll()
        for data in released { context.fireChannelRead(data) }
        if readComplete, !released.isEmpty { context.fireChannelReadComplete() }
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
