import AtmoProtocol
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// What every capped event stream (`/v1/events`, `/v1/downloads/events`) says when its
/// slots refuse or supersede it, so the two streams answer alike.
extension EventStreamSlots {
    /// Ends the body of a superseded stream with an error, so the server cuts the connection
    /// (a client that never reads gives its connection back too, not only its slot).
    struct Superseded: Error {}

    /// The 503 (`too_many_streams`, `Retry-After: 5`) to a stream beyond the node's total.
    func refusal(_ streams: String, advice: String) -> Response {
        var response = JSONResponse.error(
            .serviceUnavailable, "This node has \(total) \(streams) open already; \(advice)", code: "too_many_streams")
        response.headers[.retryAfter] = "5"
        return response
    }

    /// The `closed` event (code `NodeAPI.streamSupersededCode`) a superseded stream of
    /// slots with `perAddress` streams per address ends with.
    static func supersededFrame(_ streams: String, perAddress: Int) -> ByteBuffer {
        let closed = NodeAPI.StreamClosed(
            error: "This address opened more than \(perAddress) \(streams); its oldest, this one, was closed",
            code: NodeAPI.streamSupersededCode)
        let json = (try? WireCoding.encode(closed)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
        return ByteBuffer(string: "event: closed\ndata: \(json)\n\n")
    }
}
