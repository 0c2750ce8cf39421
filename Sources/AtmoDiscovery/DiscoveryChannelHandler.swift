import Logging
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Drives a `DiscoveryStateMachine` from a UDP channel: decodes datagrams into events,
/// performs the actions (sends, reports), and keeps one timer armed for `nextDeadline`.
/// Lives on the channel's event loop; the state machine is touched nowhere else.
final class DiscoveryChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    /// The user outbound event that stops discovery: the goodbye is sent, and the
    /// event's promise completes once it has been written.
    struct Stop: Sendable {}

    private var machine: DiscoveryStateMachine
    private let group: SocketAddress
    /// Interfaces to send every message through, one copy each (IP_MULTICAST_IF is set
    /// before each). Empty: the interface set once at setup (or the kernel's choice).
    private let perSendInterfaces: [in_addr]
    private let logger: Logger
    private let onEvent: @Sendable (DiscoveryEvent) -> Void
    private var timer: Scheduled<Void>?

    init(
        settings: DiscoverySettings, group: SocketAddress, perSendInterfaces: [in_addr], logger: Logger,
        onEvent: @escaping @Sendable (DiscoveryEvent) -> Void
    ) {
        self.machine = DiscoveryStateMachine(settings: settings)
        self.group = group
        self.perSendInterfaces = perSendInterfaces
        self.logger = logger
        self.onEvent = onEvent
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        perform(machine.start(now: .now), context: context, querier: nil)
    }

    func channelActive(context: ChannelHandlerContext) {
        perform(machine.start(now: .now), context: context, querier: nil)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = Self.unwrapInboundIn(data)
        let message: DNSMessage
        do {
            message = try DNSMessage(decoding: Array(envelope.data.readableBytesView))
        } catch {
            logger.debug(
                "ignoring a malformed mDNS datagram",
                metadata: ["from": "\(envelope.remoteAddress)", "error": "\(error)"])
            return
        }
        let actions = machine.receive(message, sourcePort: envelope.remoteAddress.port ?? 0, now: .now)
        perform(actions, context: context, querier: envelope.remoteAddress)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A send that failed (no route, interface gone) must not end discovery.
        logger.debug("mDNS socket error", metadata: ["error": "\(error)"])
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is Stop else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        cancelTimer()
        let writes = perform(machine.stop(now: .now), context: context, querier: nil)
        EventLoopFuture.andAllComplete(writes, on: context.eventLoop).cascade(to: promise)
    }

    /// Performs the actions and re-arms the timer; returns the futures of the writes.
    @discardableResult
    private func perform(
        _ actions: [DiscoveryAction], context: ChannelHandlerContext, querier: SocketAddress?
    ) -> [EventLoopFuture<Void>] {
        var writes: [EventLoopFuture<Void>] = []
        for action in actions {
            switch action {
            case .send(let message, let destination):
                let bytes: [UInt8]
                do {
                    bytes = try message.encoded()
                } catch {
                    logger.warning("cannot encode an mDNS message", metadata: ["error": "\(error)"])
                    continue
                }
                let buffer = context.channel.allocator.buffer(bytes: bytes)
                switch destination {
                case .querier:
                    guard let querier else { continue }
                    writes.append(write(buffer, to: querier, context: context))
                case .multicast:
                    writes += sendToGroup(buffer, context: context)
                }
            case .report(let event):
                logger.debug("discovery event", metadata: ["event": "\(event)"])
                onEvent(event)
            case .nameConflict(let record):
                logger.info(
                    "another responder claims our instance name; probing for it again",
                    metadata: ["name": "\(record.name)", "record": "\(record.data)"])
            case .renamed(let old, let new):
                logger.warning(
                    "instance name '\(old)' is taken on the LAN: advertising as '\(new)'", metadata: ["name": "\(new)"])
            }
        }
        rearmTimer(context: context)
        return writes
    }

    private func sendToGroup(_ buffer: ByteBuffer, context: ChannelHandlerContext) -> [EventLoopFuture<Void>] {
        guard !perSendInterfaces.isEmpty, let provider = context.channel as? any SocketOptionProvider else {
            return [write(buffer, to: group, context: context)]
        }
        // On the event loop, setting the option takes effect at once and the flushed write
        // is sent at once, so each copy leaves through its own interface. (A write queued
        // behind a full socket buffer could leave through a later one: harmless here.)
        return perSendInterfaces.map { interface in
            _ = provider.setIPMulticastIF(interface)
            return write(buffer, to: group, context: context)
        }
    }

    private func write(_ buffer: ByteBuffer, to address: SocketAddress, context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        let future = context.writeAndFlush(Self.wrapOutboundOut(AddressedEnvelope(remoteAddress: address, data: buffer)))
        let logger = self.logger
        future.whenFailure { error in
            logger.debug("mDNS send failed", metadata: ["to": "\(address)", "error": "\(error)"])
        }
        return future
    }

    private func rearmTimer(context: ChannelHandlerContext) {
        cancelTimer()
        guard let deadline = machine.nextDeadline else { return }
        let delay = deadline - ContinuousClock.now
        let nanoseconds = max(0, delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000)
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) { [self] in
            timer = nil
            perform(machine.tick(now: .now), context: context, querier: nil)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }
}
