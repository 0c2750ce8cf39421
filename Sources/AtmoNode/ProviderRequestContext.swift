import Hummingbird
import NIOCore

/// The request context of the node's routes: Hummingbird's basic one plus the connection's
/// event loop (download streaming paces itself on it, see `FileRangeStreamer`) and the
/// client's address (the local control API answers only this machine).
struct ProviderRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The loop that owns the connection's channel.
    let eventLoop: any EventLoop
    /// The client's address, when the channel knows it.
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        eventLoop = source.channel.eventLoop
        remoteAddress = source.channel.remoteAddress
    }

    /// True for a client on this machine (127.0.0.0/8, ::1, or a Unix socket).
    var isLocalClient: Bool {
        switch remoteAddress {
        case .v4(let address):
            return address.address.sin_addr.s_addr.bigEndian >> 24 == 127
        case .v6:
            guard let ip = remoteAddress?.ipAddress else { return false }
            return ip == "::1" || ip.hasPrefix("::ffff:127.")
        case .unixDomainSocket:
            return true
        case nil:
            return false
        }
    }
}
