import AtmoProtocol
import HTTPTypes
import Hummingbird

extension HubRoutes {
    /// The span of a Hub body of `size` bytes a request's `Range` and `If-Range` select
    /// (`ByteRangeSelection`; the validator is `headers`' `ETag`): `200` for the whole file,
    /// `206` with `Content-Range` for a single range, `Content-Length` set either way. Nil
    /// when the range cannot be satisfied: `headers` then carry `Content-Range: bytes */size`
    /// for the `416` of `rangeNotSatisfiable`.
    static func selectSpan(
        range: String?, ifRange: String?, size: Int64, headers: inout HTTPFields
    ) -> (status: HTTPResponse.Status, offset: Int64, length: Int64)? {
        switch ByteRangeSelection.select(range: range, ifRange: ifRange, etag: headers[.eTag], size: size) {
        case .unsatisfiable:
            headers[.contentRange] = ByteRangeHeaders.unsatisfiable(size: size)
            headers[.contentLength] = nil
            return nil
        case .partial(let start, let count):
            headers[.contentRange] = ByteRangeHeaders.contentRange(offset: start, length: count, size: size)
            headers[.contentLength] = String(count)
            return (.partialContent, start, count)
        case .full:
            headers[.contentLength] = String(size)
            return (.ok, 0, size)
        }
    }

    /// The `416` for a range outside a file of `size` bytes (`headers` from `selectSpan`).
    static func rangeNotSatisfiable(size: Int64, headers: HTTPFields) -> Response {
        HubAnswers.json(
            HubBodies.ErrorBody(error: "Range not satisfiable for a file of \(size) bytes"), status: .rangeNotSatisfiable,
            headers: headers)
    }
}
