import AtmoProtocol
import AtmoStore

/// Why a pull failed, with a message that says what to do. Its `Code`s name every failure
/// atmo reports; `ErrorMapping` maps them, in one place, to the wire's cancel reasons, the
/// CLI's exit codes and HTTP statuses.
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
            case notFound = "not_found"
            case invalidRequest = "invalid_request"
            case conflict = "conflict"
            case internalError = "internal_error"
            case notHeld = "not_held"
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
        /// Nothing of that name here (a model not installed, a file or key that is missing).
        public static let notFound = Code(wrapped: .notFound)
        /// Input that cannot be used: a bad flag, argument or request body.
        public static let invalidRequest = Code(wrapped: .invalidRequest)
        /// Conflicts with what is already there (a file, a registration, an address in use).
        public static let conflict = Code(wrapped: .conflict)
        /// Something unexpected failed.
        public static let internalError = Code(wrapped: .internalError)
        /// The peer is still pulling the file and does not hold that range yet (an HTTP 416
        /// whose body's `code` is `not_held`, or a `model_transfer_cancel` with reason
        /// `not_held`): not a failure of the peer, ask it again later or ask another.
        public static let notHeld = Code(wrapped: .notHeld)
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

    /// The `reason` of the `model_transfer_cancel` this failure sends (`ErrorMapping`).
    public var cancelReason: CancelReason { ErrorMapping.map(self).cancelReason }

    /// The process exit status `atmo pull` uses for this failure (`ErrorMapping`; the
    /// README documents them).
    public var exitCode: Int32 { ErrorMapping.map(self).exitCode }

    /// Lifts a store failure into a transfer failure with the same meaning (`ErrorMapping`).
    static func from(_ error: StoreError) -> TransferError {
        let mapped = ErrorMapping.map(error)
        // A local failure stays one: "not found" or "conflict" in the store is not the
        // peer's answer.
        let code = [TransferError.Code.storageFull, .permissionDenied].contains(mapped.code) ? mapped.code : .localError
        return TransferError(code, error.message, underlying: error)
    }
}
