import AsyncHTTPClient
import AtmoStore
import Foundation
import NIOCore
import NIOPosix

/// Reading an error's causes: the chain of underlying errors, and the `errno` of the first
/// failed system call in it. Values only (types, codes, errno), never message text.
extension ErrorMapping {
    /// How deep `causes(of:)` looks (a chain is a few links; a cycle must not loop).
    static let maxChainDepth = 16

    /// `error`, then the error it wraps, and so on.
    public static func causes(of error: any Error) -> [any Error] {
        var chain: [any Error] = [error]
        var current: any Error = error
        while chain.count < maxChainDepth, let next = underlying(of: current) {
            chain.append(next)
            current = next
        }
        return chain
    }

    /// The `errno` of the first system call failure in `error`'s chain, nil if none.
    public static func posixErrno(in error: any Error) -> Int32? {
        for cause in causes(of: error) {
            if let code = errno(of: cause) { return code }
        }
        return nil
    }

    /// The code an `errno` means, nil for one with no meaning of its own here.
    static func code(forErrno code: Int32) -> TransferError.Code? {
        switch code {
        case ENOSPC, EDQUOT, EFBIG: return .storageFull
        case EACCES, EPERM, EROFS: return .permissionDenied
        case ENOENT: return .notFound
        case ECONNREFUSED, ECONNRESET, ECONNABORTED, EHOSTUNREACH, ENETUNREACH, ENETDOWN, EHOSTDOWN, EPIPE: return .peerUnreachable
        case ETIMEDOUT: return .timeout
        case EIO, ENOTDIR, EISDIR, ENAMETOOLONG, ELOOP, EMFILE, ENFILE, ENOMEM: return .localError
        case EADDRINUSE, EADDRNOTAVAIL: return .conflict
        default: return nil
        }
    }

    /// The error `error` wraps, if it says.
    static func underlying(of error: any Error) -> (any Error)? {
        switch error {
        case let error as TransferError: return error.underlying
        case let error as StoreError: return error.underlying
        case let error as MeshSetupError: return error.underlying
        case let error as NIOConnectionError:
            // The first address's failure (the others are usually the same).
            return error.connectionErrors.first?.error ?? error.dnsAError ?? error.dnsAAAAError
        case is POSIXError, is IOError:
            return nil
        default:
            let bridged = error as NSError
            return bridged.userInfo[NSUnderlyingErrorKey] as? any Error
        }
    }

    /// The `errno` `error` itself carries.
    static func errno(of error: any Error) -> Int32? {
        switch error {
        case let error as IOError: return error.errnoCode
        case let error as POSIXError: return error.code.rawValue
        default:
            let bridged = error as NSError
            return bridged.domain == NSPOSIXErrorDomain ? Int32(truncatingIfNeeded: bridged.code) : nil
        }
    }

    /// The code of a connection-level failure of a library (AsyncHTTPClient, NIO) that
    /// carries no `errno`, nil for other errors.
    static func code(ofNetworkError error: any Error) -> TransferError.Code? {
        if let error = error as? HTTPClientError {
            switch error {
            case .cancelled: return .cancelled
            case .connectTimeout, .readTimeout, .writeTimeout, .deadlineExceeded: return .timeout
            case .remoteConnectionClosed: return .peerUnreachable
            default: return .peerError
            }
        }
        if let error = error as? ChannelError {
            switch error {
            case .connectTimeout: return .timeout
            case .ioOnClosedChannel, .alreadyClosed, .eof, .outputClosed, .inputClosed: return .peerUnreachable
            default: return nil
            }
        }
        if error is NIOConnectionError { return .peerUnreachable }
        // A bounded read of a peer's answer stopped at its limit: the peer sent too much.
        if error is NIOTooManyBytesError { return .peerError }
        return nil
    }
}
