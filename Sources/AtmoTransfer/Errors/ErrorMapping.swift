import AtmoProtocol
import AtmoStore

/// A failure as every audience is told it: `atmo`'s exit status, an HTTP answer's status
/// and `code`, the `reason` of a `model_transfer_cancel`, and a message that says what to do.
public struct MappedError: Sendable, CustomStringConvertible {
    /// What kind of failure: it decides the exit status, HTTP status and cancel reason.
    public var code: TransferError.Code
    /// The error's own code when it has a finer one (a `WireError`'s `invalid_sha256`, a
    /// `MeshSetupError`'s `not_founder`), else `code`'s name: the `code` of JSON answers.
    public var wireCode: String
    /// What happened and what to do, for a person.
    public var message: String

    public var exitCode: Int32 { ErrorMapping.exitCode(for: code) }
    public var httpStatus: Int { ErrorMapping.httpStatus(for: code) }
    public var cancelReason: CancelReason { ErrorMapping.cancelReason(for: code) }
    /// Whether `message` must stay on this machine: a failure of this machine's files,
    /// database or system calls can name its paths, so an HTTP answer gives
    /// `ErrorMapping.advice(for:)` instead. Decided by where the error came from (a
    /// `StoreError`, an `errno` in its chain, an error of no known kind), whatever its status:
    /// a store's `not_found` is 404 and local all the same.
    public var isLocal: Bool
    public var description: String { message }

    /// A mapped error; `isLocal` by default for a status of this server's own failure
    /// (5xx other than 502 and 504, which are a peer's).
    public init(code: TransferError.Code, wireCode: String, message: String, isLocal: Bool? = nil) {
        self.code = code
        self.wireCode = wireCode
        self.message = message
        let status = ErrorMapping.httpStatus(for: code)
        self.isLocal = isLocal ?? (status >= 500 && status != 502 && status != 504)
    }
}

/// The one place a thrown error is mapped (docs/ARCHITECTURE.md, "Errors"). It looks at
/// values only: the error's type and code, and the `errno` of a failed system call anywhere
/// in its chain of underlying errors; never at message text.
///
/// - `TransferError`, `StoreError`, `WireError`, `MeshSetupError` keep their messages; a
///   generic code (`local_error`, `io_error`, `database_error`) is made precise by an
///   `errno` behind it (ENOSPC is `storage_full`, EACCES and EROFS `permission_denied`).
/// - `CancellationError` is `cancelled`.
/// - Connection failures of AsyncHTTPClient and NIO are `peer_unreachable` or `timeout`.
/// - Anything else is `internal_error`, unless an `errno` behind it says more.
public enum ErrorMapping {
    public static func map(_ error: any Error) -> MappedError {
        let errnoValue = posixErrno(in: error)
        let errnoCode = errnoValue.flatMap(code(forErrno:))
        switch error {
        case let error as TransferError:
            let code = refined(error.code, by: errnoCode)
            // A local system call failed behind it: its message may name a local path (a
            // connection's errno is a peer's failure, and its message names the peer).
            let isPeers = errnoCode == .peerUnreachable || errnoCode == .timeout
            let isLocal = errnoValue != nil && !isPeers ? true : nil
            return MappedError(code: code, wireCode: code.description, message: error.message, isLocal: isLocal)
        case let error as StoreError:
            // The store's messages name its files and folders.
            let code = refined(code(of: error), by: errnoCode)
            return MappedError(code: code, wireCode: code.description, message: error.message, isLocal: true)
        case let error as WireError:
            return MappedError(code: .invalidRequest, wireCode: error.code.description, message: error.message)
        case let error as MeshSetupError:
            if error.code == .storage, let underlying = error.underlying {
                var mapped = map(underlying)
                mapped.message = error.message
                return mapped
            }
            return MappedError(code: .invalidRequest, wireCode: error.code.description, message: error.message)
        case is CancellationError:
            return MappedError(code: .cancelled, wireCode: TransferError.Code.cancelled.description, message: advice(for: .cancelled))
        default:
            // Its description is not ours to vouch for (a system error's names a path).
            let code = errnoCode ?? code(ofNetworkError: error) ?? .internalError
            return MappedError(code: code, wireCode: code.description, message: "\(advice(for: code)) (\(error))", isLocal: true)
        }
    }

    /// The code of a store failure, before any `errno` behind it is read.
    static func code(of error: StoreError) -> TransferError.Code {
        switch error.code {
        case .storageFull: return .storageFull
        case .permissionDenied: return .permissionDenied
        case .notFound: return .notFound
        case .busy: return .sourceChanged
        case .conflict: return .conflict
        default: return .localError  // io, database, corrupt
        }
    }

    /// A generic code made precise by the `errno` behind it: a local failure by a local
    /// cause (`storage_full`, `permission_denied`), a peer's failure by a network one.
    static func refined(_ code: TransferError.Code, by errnoCode: TransferError.Code?) -> TransferError.Code {
        guard let errnoCode else { return code }
        switch (code, errnoCode) {
        case (.localError, .storageFull), (.localError, .permissionDenied): return errnoCode
        case (.peerError, .peerUnreachable), (.peerError, .timeout): return errnoCode
        default: return code
        }
    }
}
