import AsyncHTTPClient
import AtmoProtocol
import AtmoStore
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Testing

@testable import AtmoNode
@testable import AtmoTransfer

/// The node's error middleware answers with `ErrorMapping`'s status and code, and never
/// echoes a local failure's message (it names paths of the node).
struct ErrorMiddlewareTests {
    struct Unexpected: Error {}

    static func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: JSONErrorMiddleware<BasicRequestContext>(allowedMethods: { _ in [] }))
        router.get("/full") { _, _ -> Response in
            throw TransferError(
                .localError, "saving /secret/state/atmo.sqlite failed", underlying: StoreError.posix(ENOSPC, "write", path: "/secret/x"))
        }
        router.get("/readonly") { _, _ -> Response in throw StoreError(.io, "open /secret/y", underlying: POSIXError(.EROFS)) }
        router.get("/wire") { _, _ -> Response in throw WireError(.invalidSHA256, "sha256: not 64 hex digits") }
        router.get("/unexpected") { _, _ -> Response in throw Unexpected() }
        router.get("/stopping") { _, _ -> Response in throw CancellationError() }
        router.get("/gone") { _, _ -> Response in throw StoreError.posix(ENOENT, "open", path: "/secret/models/z.gguf") }
        router.get("/gone-behind") { _, _ -> Response in
            throw TransferError(.notFound, "reading /secret/models/z.gguf failed", underlying: POSIXError(.ENOENT))
        }
        router.get("/gone-system") { _, _ -> Response in
            throw NSError(domain: NSPOSIXErrorDomain, code: Int(ENOENT), userInfo: [NSFilePathErrorKey: "/secret/models/z.gguf"])
        }
        return router
    }

    @Test(arguments: [
        ("/full", 507, "storage_full"), ("/readonly", 500, "permission_denied"), ("/wire", 400, "invalid_sha256"),
        ("/unexpected", 500, "internal_error"), ("/stopping", 503, "cancelled"),
        // ENOENT is 404, and the message behind it still names a path of the node.
        ("/gone", 404, "not_found"), ("/gone-behind", 404, "not_found"), ("/gone-system", 404, "not_found"),
    ])
    func answersByTheMapping(path: String, status: Int, code: String) async throws {
        try await Self.withServer { baseURL in
            let answer = try await HTTPClient.shared.execute(HTTPClientRequest(url: baseURL + path), timeout: .seconds(10))
            let body = try await answer.body.collect(upTo: 1 << 16)
            let error = try JSONDecoder().decode(HTTPAPI.ErrorBody.self, from: Data(buffer: body))
            #expect(Int(answer.status.code) == status)
            #expect(error.code == code)
            #expect(!error.error.contains("/secret"), "\(error.error)")
            if path == "/wire" { #expect(error.error == "sha256: not 64 hex digits") }
        }
    }

    static func withServer(_ body: @escaping @Sendable (String) async throws -> Void) async throws {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let quiet = Logger(label: "error-middleware", factory: { _ in SwiftLogNoOpLogHandler() })
        let application = Application(
            router: router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: quiet)
        let services = ServiceGroup(configuration: ServiceGroupConfiguration(services: [application], logger: quiet))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            let result: Result<Void, any Error>
            do { result = .success(try await body("http://127.0.0.1:\(port)")) } catch { result = .failure(error) }
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
            try result.get()
        }
    }
}
