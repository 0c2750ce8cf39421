import AtmoProtocol
import AtmoTransfer
import Foundation
import Hummingbird
import Logging
import NIOCore

/// JSON answers; errors become one through `ErrorMapping` (`JSONErrorMiddleware`).
enum JSONResponse {
    static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? WireCoding.encode(value)) ?? Data("{}".utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.contentLength] = String(data.count)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ status: HTTPResponse.Status, _ message: String, code: String? = nil) -> Response {
        make(HTTPAPI.ErrorBody(error: message, code: code), status: status)
    }
}

/// Turns every error and every unmatched route into a JSON error body, so no answer of
/// this server is an HTML page, an empty 404 or an empty 500:
/// - `HTTPError` and any other `HTTPResponseError` keep their status (and headers), with
///   their message (or the reason phrase) as `error` (a route chose them);
/// - a body over its limit is 413 `too_large`;
/// - a path no route knows is 404, a known path with the wrong method 405 with `Allow`;
/// - any other error gets the status and `code` `ErrorMapping` gives it (a `WireError` 400
///   with its code, a full disk 507 `storage_full`, shutting down 503, anything unknown
///   500 `internal_error`); a local failure (`MappedError.isLocal`: a store's, a system
///   call's, an unknown error, whatever its status, ENOENT's 404 too) is logged and answered
///   with advice, never with its message (it could name a path of this machine).
///
/// It also makes every answer to `HEAD` bodiless (same status and headers) before it is
/// written, so a `HEAD` never runs a streaming body (SwiftNIO's encoder would drop the
/// bytes anyway, but only after they were produced).
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The methods a path accepts, empty when no route knows the path.
    let allowedMethods: @Sendable (_ path: String) -> [HTTPRequest.Method]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = await answer(request, context: context, next: next)
        return request.method == .head ? response.createHeadResponse() : response
    }

    private func answer(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            if error.status == .notFound, error.body == nil {
                return unmatched(request)
            }
            var response = JSONResponse.error(error.status, error.body ?? error.status.reasonPhrase)
            for field in error.headers where field.name != .contentType && field.name != .contentLength {
                response.headers.append(field)
            }
            return response
        } catch is NIOTooManyBytesError {
            return JSONResponse.error(.contentTooLarge, "Request body too large", code: WireError.Code.tooLarge.description)
        } catch let error as any HTTPResponseError {
            return JSONResponse.error(error.status, error.status.reasonPhrase)
        } catch {
            let mapped = ErrorMapping.map(error)
            let status = HTTPResponse.Status(code: mapped.httpStatus)
            guard mapped.isLocal else { return JSONResponse.error(status, mapped.message, code: mapped.wireCode) }
            if mapped.code == .cancelled { return JSONResponse.error(status, "Server is shutting down", code: mapped.wireCode) }
            // Local (a store's, a system call's): the message stays in the log.
            let level: Logger.Level = mapped.httpStatus >= 500 ? .error : .debug
            context.logger.log(level: level, "request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return JSONResponse.error(status, ErrorMapping.advice(for: mapped.code), code: mapped.wireCode)
        }
    }

    /// 404 for a path no route knows; 405 with `Allow` for a known path and another method.
    private func unmatched(_ request: Request) -> Response {
        let allowed = allowedMethods(request.uri.path)
        guard !allowed.isEmpty, !allowed.contains(request.method) else {
            return JSONResponse.error(.notFound, "Not found")
        }
        var response = JSONResponse.error(
            .methodNotAllowed, "Method \(request.method.rawValue) not allowed here; use \(allowed.map(\.rawValue).joined(separator: ", "))")
        response.headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
        return response
    }
}
