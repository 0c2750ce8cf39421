import AtmoProtocol

/// The exit statuses of `atmo`, as the README documents them for scripts.
public enum ExitStatus {
    public static let success: Int32 = 0
    /// Something unexpected failed.
    public static let failure: Int32 = 1
    /// A peer (or the local node) cannot be reached, or stalled.
    public static let unreachable: Int32 = 3
    /// The model is not offered, or not installed; nothing of that name.
    public static let notFound: Int32 = 4
    /// Verification failed, or the peer's copy changed.
    public static let verification: Int32 = 5
    /// A local storage problem: disk full, permission denied, unreadable state.
    public static let localStorage: Int32 = 6
    /// The same model is being downloaded by another process.
    public static let busy: Int32 = 7
    /// Bad usage: a flag, argument or input that cannot be used.
    public static let usage: Int32 = 64
    /// Interrupted (Ctrl-C, SIGTERM); a pull resumes next time.
    public static let interrupted: Int32 = 130
}

/// What each code means to each audience: the one table (docs/ARCHITECTURE.md, "Errors").
extension ErrorMapping {
    /// The exit status of `atmo` for a failure of this code.
    public static func exitCode(for code: TransferError.Code) -> Int32 {
        switch code {
        case .peerUnreachable, .timeout, .peerError, .notHeld: return ExitStatus.unreachable
        case .notOffered, .notFound: return ExitStatus.notFound
        case .hashMismatch, .sourceChanged, .protocolViolation: return ExitStatus.verification
        case .storageFull, .permissionDenied, .localError: return ExitStatus.localStorage
        case .alreadyRunning: return ExitStatus.busy
        case .invalidRequest: return ExitStatus.usage
        case .cancelled: return ExitStatus.interrupted
        default: return ExitStatus.failure
        }
    }

    /// The HTTP status a route answers a failure of this code with.
    public static func httpStatus(for code: TransferError.Code) -> Int {
        switch code {
        case .invalidRequest: return 400
        case .notOffered, .notFound: return 404
        case .sourceChanged, .alreadyRunning, .conflict: return 409
        case .peerUnreachable, .peerError, .hashMismatch, .protocolViolation: return 502
        case .cancelled: return 503
        case .timeout: return 504
        case .notHeld: return 416
        case .storageFull: return 507
        default: return 500
        }
    }

    /// The `reason` of the `model_transfer_cancel` a pull that fails with this code sends.
    /// Only the reasons every peer knows (`docs/PROTOCOL.md`): what has none is a
    /// `network_error`.
    public static func cancelReason(for code: TransferError.Code) -> CancelReason {
        switch code {
        case .hashMismatch: return .hashMismatch
        case .timeout: return .timeout
        case .cancelled: return .userCancelled
        case .storageFull: return .storageFull
        default: return .networkError
        }
    }

    /// What to do about a failure of this code, for a message that has nothing better (an
    /// error of a library), and for HTTP answers that must not echo local details.
    public static func advice(for code: TransferError.Code) -> String {
        switch code {
        case .peerUnreachable: return "the peer cannot be reached; check that it runs and that its address is right"
        case .timeout: return "the peer stopped answering in time; try again, or another peer"
        case .peerError: return "the peer failed to answer; try again, or another peer"
        case .notOffered: return "no node offers this model (see `atmo models`)"
        case .notFound: return "not found"
        case .hashMismatch: return "the data did not match its SHA-256; nothing was installed"
        case .sourceChanged: return "the peer's copy changed; pull again once it has re-indexed"
        case .protocolViolation: return "the peer broke the protocol; try another peer"
        case .storageFull: return "no space left on the device; free some space and try again"
        case .permissionDenied: return "permission denied; choose a folder you can write or fix its permissions"
        case .localError: return "a local file or the state database could not be used"
        case .alreadyRunning: return "another process is downloading the same model; wait for it or stop it"
        case .cancelled: return "interrupted"
        case .invalidRequest: return "the request cannot be used as given"
        case .conflict: return "this conflicts with what is already there"
        case .notHeld: return "the peer is still downloading this file and does not hold that part yet; ask it later, or another peer"
        default: return "internal error"
        }
    }
}
