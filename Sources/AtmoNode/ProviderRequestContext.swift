import Hummingbird
import NIOCore

/// The request context of the node's routes: Hummingbird's basic one plus the connection's
/// channel (downloads send their body from its event loop, see `FileBodyPump`) and the
/// client's address (the local control API answers only this machine).
struct ProviderRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The connection.
    let channel: any Channel
    /// The client's address, when the channel knows it.
    let remoteAddress: SocketAddress?
    /// This end of the connection.
    let localAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
        remoteAddress = source.channel.remoteAddress
        localAddress = source.channel.localAddress
    }

    /// Set by `ControlAccessMiddleware` on the dashboard's and control API's paths when
    /// `ControlAccess` let the request in (from this machine under a loopback Host, or with
    /// the token). The only thing the control routes trust (`requireControl`): a request
    /// that reached them any other way is refused, wherever it comes from.
    var controlGranted = false

    /// Throws 403 unless the access guard let this request in (`controlGranted`): the
    /// dashboard's and the control API's routes call it first.
    func requireControl(_ what: String) throws {
        guard controlGranted else {
            throw HTTPError(.forbidden, message: "\(what) answers only this machine (or the dashboard's token), through its access guard")
        }
    }

    /// True for a client on this machine: loopback (127.0.0.0/8, ::1), a Unix socket, or a
    /// connection from the very address it reached (a node bound to one LAN address is
    /// reached by its own CLI from that address).
    var isOnThisMachine: Bool {
        if let remote = remoteAddress?.ipAddress, remote == localAddress?.ipAddress { return true }
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
