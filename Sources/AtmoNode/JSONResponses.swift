import AtmoProtocol
import Foundation
import Hummingbird

/// JSON answers and the one mapping from failures to HTTP statuses.
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
/// this server is an HTML page or an empty 500.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let message = error.body ?? (error.status == .notFound ? "Not found" : error.status.reasonPhrase)
            return JSONResponse.error(error.status, message)
        } catch let error as WireError {
            return JSONResponse.error(.badRequest, error.message, code: error.code.description)
        } catch {
            context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return JSONResponse.error(.internalServerError, "internal error")
        }
    }
}
