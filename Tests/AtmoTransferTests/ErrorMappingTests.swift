import AsyncHTTPClient
import AtmoProtocol
import AtmoTesting
import Foundation
import GRDB
import NIOCore
import Testing

@testable import AtmoStore
@testable import AtmoTransfer

/// `ErrorMapping`: one table from a failure to the exit status (README), the HTTP status and
/// the cancel reason, read from error values (codes, errno), never from message text.
struct ErrorMappingTests {
    /// Each code as docs/ARCHITECTURE.md ("Errors") and the README's exit codes say.
    static let table: [(TransferError.Code, exit: Int32, http: Int, reason: CancelReason)] = [
        (.peerUnreachable, 3, 502, .networkError),
        (.timeout, 3, 504, .timeout),
        (.peerError, 3, 502, .networkError),
        (.notOffered, 4, 404, .networkError),
        (.notFound, 4, 404, .networkError),
        (.hashMismatch, 5, 502, .hashMismatch),
        (.sourceChanged, 5, 409, .networkError),
        (.protocolViolation, 5, 502, .networkError),
        (.storageFull, 6, 507, .storageFull),
        (.permissionDenied, 6, 500, .networkError),
        (.localError, 6, 500, .networkError),
        (.alreadyRunning, 7, 409, .networkError),
        (.invalidRequest, 64, 400, .networkError),
        (.cancelled, 130, 503, .userCancelled),
        (.conflict, 1, 409, .networkError),
        (.internalError, 1, 500, .networkError),
        (.notHeld, 3, 416, .networkError),
    ]

    @Test func everyCodeMapsAsDocumented() {
        for (code, exit, http, reason) in Self.table {
            let mapped = ErrorMapping.map(TransferError(code, "it failed"))
            #expect(mapped.code == code)
            #expect(mapped.exitCode == exit, "\(code)")
            #expect(mapped.httpStatus == http, "\(code)")
            #expect(mapped.cancelReason == reason, "\(code)")
            #expect(mapped.wireCode == code.description)
            #expect(mapped.message == "it failed")
            #expect(TransferError(code, "x").exitCode == exit)
            #expect(TransferError(code, "x").cancelReason == reason)
            #expect(TransferError.Code(description: code.description) == code)
        }
        // The README's statuses, and nothing else.
        #expect(Set(Self.table.map(\.exit)) == [1, 3, 4, 5, 6, 7, 64, 130])
        #expect(ExitStatus.success == 0)
    }

    /// ENOSPC from the system call, two wrappers down, under messages that never say so.
    @Test func aPosixENOSPCDeepInTheChainIsStorageFull() {
        let posix = NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC))
        let store = StoreError(.io, "write failed", underlying: posix)
        let failure = TransferError(.localError, "the pull failed", underlying: store)
        let mapped = ErrorMapping.map(failure)
        #expect(mapped.code == .storageFull)
        #expect(mapped.exitCode == 6)
        #expect(mapped.wireCode == "storage_full")
        #expect(mapped.cancelReason == .storageFull)
        #expect(mapped.httpStatus == 507)
        #expect(mapped.message == "the pull failed")
        #expect(ErrorMapping.posixErrno(in: failure) == ENOSPC)
        #expect(TransferError.from(store).code == .storageFull)

        // The same errno as NIO's IOError, Foundation's POSIXError, and a CocoaError around one.
        let nio = StoreError(.database, "cannot save", underlying: IOError(errnoCode: ENOSPC, reason: "pwrite"))
        #expect(ErrorMapping.map(nio).code == .storageFull)
        let foundation = TransferError(.localError, "x", underlying: POSIXError(.ENOSPC))
        #expect(ErrorMapping.map(foundation).exitCode == 6)
        let cocoa = CocoaError(.fileWriteUnknown, userInfo: [NSUnderlyingErrorKey: POSIXError(.EDQUOT)])
        #expect(ErrorMapping.map(cocoa).code == .storageFull)
        // StoreError.posix keeps its errno for the mapping.
        let posixStore = StoreError.posix(ENOSPC, "write", path: "/tmp/x")
        #expect(ErrorMapping.posixErrno(in: posixStore) == ENOSPC)
    }

    @Test(arguments: [EACCES, EPERM, EROFS])
    func aRefusedWriteIsPermissionDenied(_ code: Int32) {
        let failure = TransferError(
            .localError, "cannot write", underlying: StoreError(.io, "open failed", underlying: POSIXError(POSIXErrorCode(rawValue: code)!))
        )
        let mapped = ErrorMapping.map(failure)
        #expect(mapped.code == .permissionDenied)
        #expect(mapped.exitCode == 6)
    }

    /// Text is not a value: a message that says "No space left on device" maps to nothing.
    @Test func messageTextIsNeverRead() {
        struct Lying: Error, CustomStringConvertible {
            var description: String { "No space left on device (ENOSPC, errno 28); Connection refused" }
        }
        let mapped = ErrorMapping.map(Lying())
        #expect(mapped.code == .internalError)
        #expect(mapped.exitCode == 1)
        #expect(ErrorMapping.map(StoreError(.io, "No space left on device")).code == .localError)
        #expect(ErrorMapping.map(TransferError(.peerError, "Connection refused")).code == .peerError)
    }

    /// A specific code is never replaced by an errno behind it; only a generic one is.
    /// Whether a message may go to a client depends on where the error came from, not on
    /// its status: a store's or a system call's failure is 404 for ENOENT and still local.
    @Test func localityIsByOriginNotByStatus() {
        let missing = ErrorMapping.map(StoreError.posix(ENOENT, "open", path: "/secret/models/z.gguf"))
        #expect(missing.httpStatus == 404)
        #expect(missing.isLocal)
        #expect(ErrorMapping.map(TransferError(.notFound, "reading /secret/z failed", underlying: POSIXError(.ENOENT))).isLocal)
        #expect(ErrorMapping.map(POSIXError(.ENOENT)).isLocal)
        #expect(!ErrorMapping.map(TransferError(.notOffered, "no node offers m")).isLocal)
        #expect(!ErrorMapping.map(TransferError(.peerUnreachable, "peer p: refused", underlying: POSIXError(.ECONNREFUSED))).isLocal)
        #expect(!ErrorMapping.map(WireError(.invalidSHA256, "sha256: not 64 hex digits")).isLocal)
        #expect(ErrorMapping.map(TransferError(.localError, "saving failed")).isLocal)
    }

    @Test func aSpecificCodeWins() {
        let mismatch = TransferError(.hashMismatch, "bad", underlying: POSIXError(.ENOSPC))
        #expect(ErrorMapping.map(mismatch).code == .hashMismatch)
        let refused = TransferError(.peerError, "no answer", underlying: IOError(errnoCode: ECONNREFUSED, reason: "connect"))
        #expect(ErrorMapping.map(refused).code == .peerUnreachable)
        // A local failure is not turned into a network one, nor the other way round.
        #expect(ErrorMapping.map(TransferError(.localError, "x", underlying: POSIXError(.ECONNREFUSED))).code == .localError)
        #expect(ErrorMapping.map(TransferError(.peerError, "x", underlying: POSIXError(.ENOSPC))).code == .peerError)
    }

    @Test func theOtherErrorsOfAtmo() {
        let wire = ErrorMapping.map(WireError(.invalidSHA256, "sha256: not 64 hex digits"))
        #expect(wire.exitCode == 64 && wire.httpStatus == 400)
        #expect(wire.wireCode == "invalid_sha256")
        #expect(ErrorMapping.map(CancellationError()).exitCode == 130)
        #expect(ErrorMapping.map(StoreError(.notFound, "not installed")).exitCode == 4)
        #expect(ErrorMapping.map(StoreError(.storageFull, "full")).exitCode == 6)
        #expect(ErrorMapping.map(StoreError(.corrupt, "bad key")).exitCode == 6)
        let usage = ErrorMapping.map(MeshSetupError(.notFounder, "only the founder"))
        #expect(usage.exitCode == 64 && usage.wireCode == "not_founder")
        let storage = ErrorMapping.map(MeshSetupError(StoreError.posix(EROFS, "write", path: "/ro/mesh.json")))
        #expect(storage.exitCode == 6 && storage.code == .permissionDenied)
        #expect(ErrorMapping.map(HTTPClientError.connectTimeout).code == .timeout)
        #expect(ErrorMapping.map(HTTPClientError.remoteConnectionClosed).exitCode == 3)
    }

    /// A real failed system call: a folder asked for under a regular file. FileManager's
    /// error carries the errno (ENOTDIR), and it decides the code, not a guess.
    @Test func aFolderThatCannotBeCreatedSaysWhy() throws {
        let directory = try TemporaryDirectory(prefix: "atmo-errors")
        defer { directory.remove() }
        let file = directory.sub("plain-file")
        #expect(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        let error = #expect(throws: StoreError.self) { try FileIO.makeDirectory(file + "/models") }
        let thrown = try #require(error)
        #expect(ErrorMapping.posixErrno(in: thrown) == ENOTDIR)
        #expect(thrown.code != .permissionDenied, "\(thrown)")
        #expect(ErrorMapping.map(thrown).code == .localError)
        #expect(ErrorMapping.map(thrown).exitCode == 6)
    }

    /// A real SQLITE_FULL (the database's page limit reached) is storage_full, by SQLite's
    /// result code.
    @Test func aFullStateDatabaseIsStorageFull() throws {
        let database = try StateDatabase()
        try database.queue.write { db in
            try db.execute(sql: "PRAGMA max_page_count = \(try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 1)")
        }
        var thrown: StoreError?
        for index in 0..<10_000 where thrown == nil {
            do {
                try database.saveQueuedDownload(
                    QueuedDownload(
                        requestID: "request-\(index)", modelID: String(repeating: "m", count: 200), sha256: nil, preferredNode: nil,
                        createdAtMs: Int64(index)))
            } catch {
                thrown = error
            }
        }
        let error = try #require(thrown)
        #expect(error.code == .storageFull, "\(error)")
        #expect(ErrorMapping.map(error).exitCode == 6)
        #expect(TransferError.from(error).code == .storageFull)
    }

    /// A peer's answers read back: never this node's own failure.
    @Test func whatAPeersAnswerMeans() {
        #expect(ErrorMapping.peerCode(forHTTPStatus: 404) == .notOffered)
        #expect(ErrorMapping.peerCode(forHTTPStatus: 409) == .sourceChanged)
        #expect(ErrorMapping.peerCode(forHTTPStatus: 507) == .peerError)
        #expect(ErrorMapping.peerCode(forCancel: .hashMismatch) == .sourceChanged)
        #expect(ErrorMapping.peerCode(forCancel: .timeout) == .timeout)
        #expect(ErrorMapping.peerCode(forCancel: .networkError) == .peerUnreachable)
        #expect(ErrorMapping.peerCode(forCancel: .storageFull) == .peerError)
        #expect(ErrorMapping.peerCode(forCancel: CancelReason("from_a_newer_peer")) == .peerError)
        // The local node's answers, as `atmo` commands read them: the body's code first.
        #expect(ErrorMapping.code(ofLocalAnswer: 507, wireCode: "storage_full") == .storageFull)
        #expect(ErrorMapping.code(ofLocalAnswer: 500, wireCode: "storage_full") == .storageFull)
        #expect(ErrorMapping.code(ofLocalAnswer: 400, wireCode: "invalid_model_id") == .invalidRequest)
        #expect(ErrorMapping.code(ofLocalAnswer: 404, wireCode: nil) == .notFound)
        #expect(ErrorMapping.code(ofLocalAnswer: 500, wireCode: "internal_error") == .internalError)
        // Every status the table gives reads back to a code with the same exit status
        // (`not_held`'s 416 always carries its code: a bare 416 is a bad range).
        #expect(ErrorMapping.code(ofLocalAnswer: 416, wireCode: "not_held") == .notHeld)
        for (code, exit, http, _) in Self.table where code != .cancelled && code != .notHeld {
            let back = ErrorMapping.code(ofLocalAnswer: http, wireCode: nil)
            #expect(ErrorMapping.exitCode(for: back) == exit || [502, 504, 500, 409].contains(http), "\(code)")
        }
    }

    /// A real refused connection (nothing listens on the port): AsyncHTTPClient's error is
    /// recognised by its errno, and the pull says so.
    @Test func aRefusedConnectionIsUnreachableByItsErrno() async throws {
        let port = try HTTPProbe.unusedPort()
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        let error: (any Error)? = try await HTTPClient.withHTTPClient(configuration: configuration) { http in
            do {
                _ = try await http.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/health"), timeout: .seconds(10))
                return nil
            } catch {
                return error
            }
        }
        let refused = try #require(error)
        #expect(ErrorMapping.posixErrno(in: refused) == ECONNREFUSED, "\(refused)")
        #expect(ErrorMapping.map(refused).code == .peerUnreachable)
        let failure = PeerClient.connectionError(refused, peer: "http://127.0.0.1:\(port)")
        #expect(failure.code == .peerUnreachable)
        #expect(failure.message.contains("connection refused"), "\(failure.message)")
        #expect(failure.exitCode == 3)
    }
}
