import GRDB

extension StoreError {
    /// A failure of the state database, by SQLite's result code: `SQLITE_FULL` (the disk or
    /// the database's page limit) is `storage_full`, `SQLITE_READONLY` and `SQLITE_PERM`
    /// are `permission_denied`, anything else `database_error`. `ErrorMapping` reads the
    /// code; the GRDB error stays in `underlying`.
    static func database(_ error: any Error, _ what: String) -> StoreError {
        let code: Code
        switch (error as? DatabaseError)?.resultCode.primaryResultCode {
        case .SQLITE_FULL?: code = .storageFull
        case .SQLITE_READONLY?, .SQLITE_PERM?: code = .permissionDenied
        default: code = .database
        }
        return StoreError(code, "\(what): \(error)", underlying: error)
    }
}
