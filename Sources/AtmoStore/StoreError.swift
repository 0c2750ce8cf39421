import Foundation
import AtmoProtocol

/// A failure of the local store, with what a person can do about it.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Wrapped: String, Sendable {
            case notFound = "not_found"
            case io = "io_error"
            case storageFull = "storage_full"
            case permissionDenied = "permission_denied"
            case busy = "busy"
            case database = "database_error"
            case corrupt = "corrupt"
            case conflict = "conflict"
        }
        let wrapped: Wrapped
        public static let notFound = Code(wrapped: .notFound)
        public static let io = Code(wrapped: .io)
        public static let storageFull = Code(wrapped: .storageFull)
        public static let permissionDenied = Code(wrapped: .permissionDenied)
        public static let busy = Code(wrapped: .busy)
        public static let database = Code(wrapped: .database)
        public static let corrupt = Code(wrapped: .corrupt)
        public static let conflict = Code(wrapped: .conflict)
        public var description: String { wrapped.rawValue }
    }

    public var code: Code
    public var message: String
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// Maps an `errno` from a failed system call on `path` to an actionable error; the
    /// `errno` stays in `underlying` (a `POSIXError`), for `ErrorMapping` to read.
    public static func posix(_ errno: Int32, _ operation: String, path: String) -> StoreError {
        var error = describe(errno, operation, path: path)
        error.underlying = POSIXErrorCode(rawValue: errno).map { POSIXError($0) }
        return error
    }

    private static func describe(_ errno: Int32, _ operation: String, path: String) -> StoreError {
        switch errno {
        case ENOSPC, EDQUOT:
            return StoreError(.storageFull, "\(operation) \(path): no space left on the device")
        case EACCES, EPERM, EROFS:
            return StoreError(.permissionDenied, "\(operation) \(path): permission denied; choose a folder you can write (--to DIR) or fix its permissions")
        case ENOENT:
            return StoreError(.notFound, "\(operation) \(path): no such file or directory")
        default:
            return StoreError(.io, "\(operation) \(path): \(String(cString: strerror(errno)))")
        }
    }

    public var description: String { message }
}
