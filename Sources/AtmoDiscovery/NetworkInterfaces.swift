import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An IPv4 address of a local interface, from getifaddrs.
struct LocalInterface: Hashable, Sendable {
    var name: String
    var address: IPv4Address
    var isUp: Bool
    var isLoopback: Bool
    var supportsMulticast: Bool

    /// Every IPv4 address of every interface (empty if getifaddrs fails).
    static func ipv4() -> [LocalInterface] {
        var first: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&first) == 0 else { return [] }
        defer { freeifaddrs(first) }
        var result: [LocalInterface] = []
        var next = first
        while let current = next {
            defer { next = current.pointee.ifa_next }
            guard let socketAddress = current.pointee.ifa_addr, socketAddress.pointee.sa_family == sa_family_t(AF_INET)
            else { continue }
            let networkOrder = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
            let flags = UInt32(current.pointee.ifa_flags)
            result.append(
                LocalInterface(
                    name: String(cString: current.pointee.ifa_name),
                    address: IPv4Address(value: UInt32(bigEndian: networkOrder)),
                    isUp: flags & UInt32(IFF_UP) != 0,
                    isLoopback: flags & UInt32(IFF_LOOPBACK) != 0,
                    supportsMulticast: flags & UInt32(IFF_MULTICAST) != 0))
        }
        return result
    }
}

/// Which interfaces discovery joins the group on and sends through, and which addresses
/// it announces.
struct InterfacePlan: Sendable {
    /// The devices to join 224.0.0.251 on and to send every message through.
    var devices: [NIONetworkDevice]
    /// The addresses of our A records.
    var announcedAddresses: [IPv4Address]

    /// Chooses as `LANDiscovery.Configuration` documents. Throws `DiscoveryError`.
    static func make(
        interfaceAddress: String?, announcedAddresses: [String]?, interfaces: [LocalInterface] = LocalInterface.ipv4(),
        devices allDevices: [NIONetworkDevice]
    ) throws(DiscoveryError) -> InterfacePlan {
        let upNames = Set(interfaces.filter(\.isUp).map(\.name))
        let devices = allDevices.filter { device in
            guard case .v4 = device.address else { return false }
            return upNames.contains(device.name)
        }
        var chosen: [NIONetworkDevice]
        var defaultAddresses: [IPv4Address]
        if let interfaceAddress {
            guard let wanted = IPv4Address(interfaceAddress) else {
                throw DiscoveryError(code: .invalidConfiguration, message: "interface address '\(interfaceAddress)' is not IPv4")
            }
            chosen = devices.filter { $0.address.flatMap(\.ipv4Address) == wanted }.prefix(1).map { $0 }
            guard let device = chosen.first else {
                throw DiscoveryError(code: .noInterface, message: "\(interfaceAddress) is not the address of an up interface")
            }
            guard device.multicastSupported else {
                throw DiscoveryError(
                    code: .multicastUnavailable,
                    message: "interface \(device.name) has no MULTICAST flag (ip link set \(device.name) multicast on)")
            }
            defaultAddresses = [wanted]
        } else {
            let multicast = devices.filter(\.multicastSupported)
            let nonLoopback = multicast.filter { $0.address.flatMap(\.ipv4Address)?.isLoopback == false }
            chosen = nonLoopback.isEmpty ? multicast : nonLoopback
            guard !chosen.isEmpty else {
                throw DiscoveryError(
                    code: .multicastUnavailable, message: "no up IPv4 interface supports multicast (is the network up?)")
            }
            let machine = interfaces.filter { $0.isUp && !$0.isLoopback && !$0.address.isLoopback }.map(\.address)
            defaultAddresses = machine.isEmpty ? [IPv4Address(value: 0x7F00_0001)] : machine.uniqued()
        }
        var announced = defaultAddresses
        if let announcedAddresses {
            announced = try announcedAddresses.map { (text) throws(DiscoveryError) -> IPv4Address in
                guard let address = IPv4Address(text) else {
                    throw DiscoveryError(code: .invalidConfiguration, message: "announced address '\(text)' is not IPv4")
                }
                return address
            }
        }
        return InterfacePlan(devices: chosen, announcedAddresses: announced)
    }
}

extension SocketAddress {
    /// The IPv4 address, for an IPv4 socket address.
    var ipv4Address: AtmoDiscovery.IPv4Address? {
        guard case .v4(let address) = self else { return nil }
        return AtmoDiscovery.IPv4Address(value: UInt32(bigEndian: address.address.sin_addr.s_addr))
    }

    /// The `in_addr` of an IPv4 socket address.
    var inAddress: in_addr? {
        guard case .v4(let address) = self else { return nil }
        return address.address.sin_addr
    }
}
