extension DownloadAPI {
    /// Where a download of the node's queue stands: the one type the queue, the HTTP API and
    /// its Server-Sent Events, the CLI and the library use, and the owner of each state's
    /// wire name (`status.state`).
    ///
    /// States may grow (a newer node may send one this version does not know), so `State`
    /// is a struct, not a public enum: a name it does not know decodes as an unknown state
    /// that keeps its name (`isKnown` false, `description` the name), never as an error.
    /// A string literal is a wire name: `status.state == "failed"` still reads as before.
    public struct State: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
        /// The states this version knows, named as on the wire.
        package enum Known: String, Sendable, CaseIterable {
            case queued, preparing, waiting, downloading, verifying, installing, completed, failed, cancelled
        }

        /// The name on the wire.
        public let wireName: String
        /// The state, nil when this version does not know its name.
        package let known: Known?

        package init(_ known: Known) {
            wireName = known.rawValue
            self.known = known
        }

        /// The state named `wireName`; a name this version does not know is kept as it is.
        public init(wireName: String) {
            self.wireName = wireName
            known = Known(rawValue: wireName)
        }

        public init(stringLiteral wireName: String) { self.init(wireName: wireName) }

        /// Waiting for a free download slot (or, just asked for, for its turn to start).
        public static let queued = State(.queued)
        /// Choosing the providers, preparing the partial file; a new download waits here a
        /// while for a node of the mesh to offer its model.
        public static let preparing = State(.preparing)
        /// Queued by an earlier run of the node: waiting, with no deadline, for a node of the
        /// mesh to offer its model again.
        public static let waiting = State(.waiting)
        /// Bytes are arriving.
        public static let downloading = State(.downloading)
        /// Checking the SHA-256 of what arrived.
        public static let verifying = State(.verifying)
        /// Verified; being moved into place with its metadata.
        public static let installing = State(.installing)
        /// Installed (final).
        public static let completed = State(.completed)
        /// Ended without the model (final); the status says why, with a `TransferError` code.
        public static let failed = State(.failed)
        /// Stopped by its user (final); the partial file is kept.
        public static let cancelled = State(.cancelled)

        /// Every state this version knows, in the order a download goes through them.
        public static var allKnown: [State] { Known.allCases.map(State.init) }

        /// Whether this version knows the state (false: a newer node's state).
        public var isKnown: Bool { known != nil }

        /// Whether nothing more will happen to the download (`completed`, `failed`,
        /// `cancelled`). An unknown state is not final: a newer node says more later.
        public var isFinal: Bool {
            switch known {
            case .completed, .failed, .cancelled: return true
            default: return false
            }
        }

        public var description: String { wireName }
    }
}

extension DownloadAPI.State: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(wireName: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wireName)
    }
}
