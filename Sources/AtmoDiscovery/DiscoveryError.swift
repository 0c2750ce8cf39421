/// Why LAN discovery could not start or had to stop.
public struct DiscoveryError: Error, Hashable, CustomStringConvertible {
    /// The kind of failure, comparable with `==`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case invalidConfiguration, noInterface, multicastUnavailable, socket
        }
        private let value: Value

        /// A configuration value cannot be advertised (a name over 63 bytes, a bad TXT
        /// key, a port out of range, an address that is not IPv4...).
        public static let invalidConfiguration = Code(value: .invalidConfiguration)
        /// `interfaceAddress` is not an address of this machine.
        public static let noInterface = Code(value: .noInterface)
        /// No interface can join the mDNS group (no MULTICAST flag, no route to 224.0.0.0/4).
        public static let multicastUnavailable = Code(value: .multicastUnavailable)
        /// The UDP socket could not be opened, bound or configured.
        public static let socket = Code(value: .socket)

        public var description: String { "\(value)" }
    }

    /// The kind of failure.
    public var code: Code
    /// A sentence for people.
    public var message: String

    /// Creates an error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
