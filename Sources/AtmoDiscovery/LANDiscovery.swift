import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// LAN discovery of Atmosphere nodes: DNS-SD (RFC 6763) over multicast DNS (RFC 6762),
/// IPv4 only, on UDP 224.0.0.251:5353.
///
/// While `run()` runs it browses for the service type (queries 1 s, 2 s, 4 s... apart, up
/// to an hour), keeps a cache of the instances it hears of with their TTLs, resolves each
/// one's SRV, TXT and A/AAAA records, and reports `DiscoveryEvent`s. With an
/// `advertisement` it also claims that instance name (three probes 250 ms apart, RFC 6762
/// §8.1; when another responder holds the name it advertises "NAME (2)", "NAME (3)"...
/// instead, §9, and logs it), announces it (three unsolicited responses, 1 s and 2 s
/// apart), answers queries for it and for `_services._dns-sd._udp.local.`, and says
/// goodbye (TTL 0) when it stops.
///
/// Our own instance is never reported: every record with our instance name is ignored
/// (or, with other data than ours, is a conflict). Several processes on one machine can run discovery at once
/// (the port is shared with SO_REUSEADDR and SO_REUSEPORT, as other mDNS stacks do).
///
/// ```swift
/// let discovery = LANDiscovery(
///     configuration: .init(advertisement: .atmosphereNode(nodeName: "kitchen", nodeID: id, port: 14345)),
///     logger: logger
/// ) { event in print(event) }
/// try await ServiceGroup(services: [discovery], logger: logger).run()
/// ```
public struct LANDiscovery: Service {
    /// The mDNS IPv4 group and port.
    static let groupAddress = "224.0.0.251"
    static let port = 5353

    let configuration: Configuration
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    let onEvent: @Sendable (DiscoveryEvent) -> Void

    /// Creates the service; nothing happens until `run()`.
    /// - Parameters:
    ///   - configuration: what to browse for and advertise, and where.
    ///   - eventLoopGroup: the loops for the UDP socket (default: NIO's shared group).
    ///   - logger: receives start/stop at info, conflicts at warning, details at debug.
    ///   - onEvent: called for every event, on a NIO event loop thread: return quickly.
    public init(
        configuration: Configuration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger,
        onEvent: @escaping @Sendable (DiscoveryEvent) -> Void
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.onEvent = onEvent
    }

    /// Runs until the task is cancelled or a graceful shutdown is triggered; either way
    /// the goodbye is sent before it returns. Throws `DiscoveryError` if the configuration
    /// cannot be advertised, the socket cannot be set up (port 5353 taken without
    /// SO_REUSEPORT, no multicast-capable interface...) or it closes on its own.
    public func run() async throws {
        let plan: InterfacePlan
        do {
            plan = try InterfacePlan.make(
                interfaceAddress: configuration.interfaceAddress, announcedAddresses: configuration.announcedAddresses,
                devices: try System.enumerateDevices())
        } catch let error as DiscoveryError {
            throw error
        } catch {
            throw DiscoveryError(code: .socket, message: "cannot list the network interfaces: \(error)")
        }
        let settings = try configuration.settings(announcing: plan.announcedAddresses)
        let channel = try await openChannel(plan: plan, settings: settings)
        logger.info(
            "LAN discovery running",
            metadata: [
                "service_type": "\(settings.serviceType)",
                "interfaces": "\(plan.devices.map(\.name).joined(separator: ","))",
                "advertising": "\(configuration.advertisement.map(\.instanceName) ?? "-")",
            ])
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                try? await channel.closeFuture.get()
            } onCancel: {
                Self.stop(channel)
            }
        } onGracefulShutdown: {
            Self.stop(channel)
        }
        guard Task.isCancelled || Task.isShuttingDownGracefully else {
            throw DiscoveryError(code: .socket, message: "the mDNS socket closed unexpectedly")
        }
        logger.info("LAN discovery stopped")
    }

    /// Sends the goodbye, then closes the channel (which ends `run()`).
    private static func stop(_ channel: any Channel) {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.triggerUserOutboundEvent(DiscoveryChannelHandler.Stop(), promise: promise)
        promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
    }

    /// Binds 0.0.0.0:5353, joins the group on the planned interfaces, sets loopback on and
    /// TTL 255, then adds the handler (which starts announcing and browsing).
    private func openChannel(plan: InterfacePlan, settings: DiscoverySettings) async throws -> any Channel {
        let reusePort = ChannelOptions.Types.SocketOption(level: .socket, name: NIOBSDSocket.Option(rawValue: SO_REUSEPORT))
        let channel: any Channel
        do {
            channel = try await DatagramBootstrap(group: eventLoopGroup)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(reusePort, value: 1)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: DNSMessage.maximumSize + 216))
                .bind(host: "0.0.0.0", port: Self.port)
                .get()
        } catch {
            throw DiscoveryError(code: .socket, message: "cannot bind UDP port \(Self.port): \(error)")
        }
        do {
            let group = try SocketAddress(ipAddress: Self.groupAddress, port: Self.port)
            guard let multicast = channel as? any MulticastChannel, let options = channel as? any SocketOptionProvider else {
                throw DiscoveryError(code: .socket, message: "the UDP channel does not support multicast")
            }
            for device in plan.devices {
                do {
                    try await multicast.joinGroup(group, device: device).get()
                } catch {
                    throw DiscoveryError(
                        code: .multicastUnavailable, message: "cannot join \(Self.groupAddress) on \(device.name): \(error)")
                }
            }
            try await options.setIPMulticastLoop(1).get()
            try await options.setIPMulticastTTL(255).get()
            let interfaces = plan.devices.compactMap { $0.address?.inAddress }
            if interfaces.count == 1 { try await options.setIPMulticastIF(interfaces[0]).get() }
            let perSend = interfaces.count > 1 ? interfaces : []
            let (logger, onEvent) = (self.logger, self.onEvent)
            try await channel.eventLoop.submit {
                let handler = DiscoveryChannelHandler(
                    settings: settings, group: group, perSendInterfaces: perSend, logger: logger, onEvent: onEvent)
                try channel.pipeline.syncOperations.addHandler(handler)
            }.get()
            return channel
        } catch {
            try? await channel.close()
            if let error = error as? DiscoveryError { throw error }
            throw DiscoveryError(code: .socket, message: "cannot set up the mDNS socket: \(error)")
        }
    }
}

extension LANDiscovery.Configuration {
    /// The state machine's settings; throws `DiscoveryError` for what cannot be advertised.
    func settings(announcing addresses: [IPv4Address]) throws(DiscoveryError) -> DiscoverySettings {
        let type = DNSName(serviceType)
        guard type.isValid, type.labels.count >= 3 else {
            throw DiscoveryError(
                code: .invalidConfiguration, message: "service type '\(serviceType)' is not like _name._tcp.local.")
        }
        var settings = DiscoverySettings(serviceType: type)
        settings.browse = browse
        if let advertisement {
            let label = advertisement.instanceName
            guard (1...DNSName.maximumLabelLength).contains(label.utf8.count) else {
                throw DiscoveryError(code: .invalidConfiguration, message: "instance name must be 1-63 bytes of UTF-8")
            }
            guard (1...65535).contains(advertisement.port) else {
                throw DiscoveryError(code: .invalidConfiguration, message: "port \(advertisement.port) is not 1-65535")
            }
            let host = DNSName(advertisement.hostName ?? LANDiscovery.Advertisement.defaultHostName(for: label))
            guard host.isValid, !host.labels.isEmpty, type.prepending(label).isValid else {
                throw DiscoveryError(code: .invalidConfiguration, message: "host or instance name too long or empty")
            }
            guard !addresses.isEmpty else {
                throw DiscoveryError(code: .invalidConfiguration, message: "no IPv4 address to announce")
            }
            settings.advertised = AdvertisedInstance(
                instanceLabel: label, hostName: host, port: UInt16(advertisement.port),
                txt: try TXTCoding.encode(advertisement.txt), addresses: addresses,
                hostNameFollowsInstance: advertisement.hostName == nil)
        }
        return settings
    }
}

extension LANDiscovery: CustomStringConvertible {
    /// `LANDiscovery(_atmosphere._tcp.local., advertising node-a)`, for logs.
    public var description: String {
        let advertising = configuration.advertisement.map { ", advertising \($0.instanceName)" } ?? ""
        return "LANDiscovery(\(configuration.serviceType)\(advertising))"
    }
}
