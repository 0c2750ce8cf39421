import AtmoProtocol
import AtmoStore

/// Why a pull failed, with a message that says what to do. `code` maps to the wire's
/// cancel reasons and to the CLI's exit codes in one place (`cancelReason`, `exitCode`).
public struct TransferError: Error, Sendable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Wrapped: String, Sendable {
            case peerUnreachable = "peer_unreachable"
            case notOffered = "not_offered"
            case hashMismatch = "hash_mismatch"
            case storageFull = "storage_full"
            case permissionDenied = "permission_denied"
            case timeout = "timeout"
            case sourceChanged = "source_changed"
            case protocolViolation = "protocol_violation"
            case alreadyRunning = "already_running"
            case cancelled = "cancelled"
            case peerError = "peer_error"
            case localError = "local_error"
        }
        let wrapped: Wrapped
        init(wrapped: Wrapped) { self.wrapped = wrapped }
        public static let peerUnreachable = Code(wrapped: .peerUnreachable)
        public static let notOffered = Code(wrapped: .notOffered)
        public static let hashMismatch = Code(wrapped: .hashMismatch)
        public static let storageFull = Code(wrapped: .storageFull)
        public static let permissionDenied = Code(wrapped: .permissionDenied)
        public static let timeout = Code(wrapped: .timeout)
        public static let sourceChanged = Code(wrapped: .sourceChanged)
        public static let protocolViolation = Code(wrapped: .protocolViolation)
        public static let alreadyRunning = Code(wrapped: .alreadyRunning)
        public static let cancelled = Code(wrapped: .cancelled)
        public static let peerError = Code(wrapped: .peerError)
        public static let localError = Code(wrapped: .localError)
        public var description: String { wrapped.rawValue }
        /// The code named `description` (as a node's download status carries it); nil for
        /// a name this version does not know.
        public init?(description: String) {
            guard let wrapped = Wrapped(rawValue: description) else { return nil }
            self.init(wrapped: wrapped)
        }
    }

    public var code: Code
    public var message: String
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }

    /// The `reason` of the `model_transfer_cancel` this failure sends.
    public var cancelReason: CancelReason {
        switch code {
        case .hashMismatch: return .hashMismatch
        case .timeout: return .timeout
        case .cancelled: return .userCancelled
        case .storageFull: return .storageFull
        default: return .networkError
        }
    }

    /// The process exit status `atmo pull` uses for this failure (documented in README).
    public var exitCode: Int32 {
        switch code {
        case .peerUnreachable, .timeout, .peerError: return 3
        case .notOffered: return 4
        case .hashMismatch, .sourceChanged, .protocolViolation: return 5
        case .storageFull, .permissionDenied, .localError: return 6
        case .alreadyRunning: return 7
        case .cancelled: return 130
        default: return 1
        }
    }

    /// Lifts a store failure into a transfer failure with the same meaning.
    static func from(_ error: StoreError) -> TransferError {
        switch error.code {
        case .storageFull: return TransferError(.storageFull, error.message, underlying: error)
        case .permissionDenied: return TransferError(.permissionDenied, error.message, underlying: error)
        default: return TransferError(.localError, error.message, underlying: error)
        }
    }
}
