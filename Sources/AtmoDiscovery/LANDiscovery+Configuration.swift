extension LANDiscovery {
    /// What to browse for, what to advertise, and on which interfaces.
    public struct Configuration: Sendable {
        /// The DNS-SD service type to browse and advertise (default `_atmosphere._tcp.local.`).
        public var serviceType: String
        /// The instance to advertise while running; nil only browses.
        public var advertisement: Advertisement?
        /// Whether to look for other instances (default true). Queries for our own
        /// records are answered either way.
        public var browse: Bool
        /// The IPv4 address of the one interface to use for multicast. Nil (the default):
        /// every up, multicast-capable, non-loopback IPv4 interface, or loopback if it is
        /// the only multicast-capable one.
        public var interfaceAddress: String?
        /// The IPv4 addresses put in our A records. Nil (the default): `interfaceAddress`
        /// when set, else this machine's up non-loopback IPv4 addresses (getifaddrs), else
        /// 127.0.0.1.
        public var announcedAddresses: [String]?

        /// Creates a configuration; every parameter has the default described on its property.
        public init(
            serviceType: String = "_atmosphere._tcp.local.",
            advertisement: Advertisement? = nil,
            browse: Bool = true,
            interfaceAddress: String? = nil,
            announcedAddresses: [String]? = nil
        ) {
            self.serviceType = serviceType
            self.advertisement = advertisement
            self.browse = browse
            self.interfaceAddress = interfaceAddress
            self.announcedAddresses = announcedAddresses
        }
    }

    /// One DNS-SD instance to advertise: `instanceName._atmosphere._tcp.local.` with an SRV
    /// record to `hostName:port`, a TXT record and A records for the announced addresses.
    public struct Advertisement: Sendable, Hashable {
        /// The instance label: any UTF-8 text of 1-63 bytes (dots and spaces allowed).
        public var instanceName: String
        /// The port in the SRV record (1-65535).
        public var port: Int
        /// The TXT record's keys and values (keys: printable ASCII without `=`).
        public var txt: [String: String]
        /// The SRV target host, such as `my-mac.local.`. Nil (the default): derived from
        /// the instance name, see `defaultHostName(for:)`.
        public var hostName: String?

        /// Creates an advertisement with the given TXT record, as is.
        public init(instanceName: String, port: Int, txt: [String: String] = [:], hostName: String? = nil) {
            self.instanceName = instanceName
            self.port = port
            self.txt = txt
            self.hostName = hostName
        }

        /// The advertisement of an Atmosphere node: instance name = node name, and the TXT
        /// keys `node_id`, `mesh_id`, `capabilities` (comma-joined), `http_port` (= `port`),
        /// `protocol_version` ("1.1") and `node_name`, plus `extraTXT` (which cannot
        /// override those).
        public static func atmosphereNode(
            nodeName: String, nodeID: String, port: Int, meshID: String = "", capabilities: [String] = [],
            extraTXT: [String: String] = [:], hostName: String? = nil
        ) -> Advertisement {
            var txt = extraTXT
            txt[TXTKey.nodeID] = nodeID
            txt[TXTKey.meshID] = meshID
            txt[TXTKey.capabilities] = capabilities.joined(separator: ",")
            txt[TXTKey.httpPort] = String(port)
            txt[TXTKey.protocolVersion] = LANDiscovery.protocolVersion
            txt[TXTKey.nodeName] = nodeName
            return Advertisement(instanceName: nodeName, port: port, txt: txt, hostName: hostName)
        }

        /// `atmo-<name>.local.`: the instance name lowercased, every run of characters other
        /// than ASCII letters and digits made one `-`, cut to 50 bytes ("node" if nothing is
        /// left). The `atmo-` prefix keeps it apart from the machine's own `.local` name,
        /// whose records another responder (Avahi, mDNSResponder) may own.
        public static func defaultHostName(for instanceName: String) -> String {
            var label = ""
            for scalar in instanceName.lowercased().unicodeScalars {
                if scalar.isASCII, scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) {
                    label.unicodeScalars.append(scalar)
                } else if !label.isEmpty, !label.hasSuffix("-") {
                    label += "-"
                }
            }
            label = String(label.prefix(50))
            while label.hasSuffix("-") { label.removeLast() }
            return "atmo-\(label.isEmpty ? "node" : label).local."
        }
    }

    /// The `protocol_version` this project advertises.
    public static let protocolVersion = "1.1"
}

extension LANDiscovery {
    /// This machine's IPv4 addresses on interfaces that are up, as dotted quads (the
    /// address a node puts in its catalog's `transfer_endpoints.http`).
    public static func localIPv4Addresses(includeLoopback: Bool) -> [String] {
        LocalInterface.ipv4().filter { $0.isUp && (includeLoopback || !$0.isLoopback) }.map { "\($0.address)" }
    }
}
