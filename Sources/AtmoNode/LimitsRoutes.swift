import AtmoProtocol
import AtmoTransfer
import Foundation
import Hummingbird

/// `GET /v1/limits` and `PUT /v1/limits`: the node's bandwidth limits, read and changed
/// while it runs (`atmo limit`), from this machine only like the node's other control
/// routes. `PUT` takes a whole `BandwidthLimits` (every key optional: one left out is
/// unlimited or off) and answers the status that follows; it lasts until the node stops
/// (the config file and the serve flags are the lasting settings).
struct LimitsRoutes: Sendable {
    let shaper: BandwidthShaper

    /// Largest body of `PUT /v1/limits` (a thousand named peers fit).
    static let maxBodyBytes = 256 * 1024

    func register(on router: Router<ProviderRequestContext>) {
        router.get(.init(BandwidthLimits.apiPath)) { _, context in
            try Self.requireLocal(context)
            return JSONResponse.make(self.shaper.status)
        }
        router.put(.init(BandwidthLimits.apiPath)) { request, context in
            try Self.requireLocal(context)
            let body = try await request.body.collect(upTo: Self.maxBodyBytes)
            let limits: BandwidthLimits
            do {
                limits = try JSONDecoder().decode(BandwidthLimits.self, from: Data(buffer: body))
            } catch {
                throw HTTPError(
                    .badRequest,
                    message: "Expected {\"up\"?: \"20MB/s\", \"down\"?: ..., \"per_peer\"?: {...}, \"peers\"?: {...}, "
                        + "\"size_class_policy\"?: \"off\"|\"seed\", \"adaptive_uploads\"?: bool}: \(Self.reason(error))")
            }
            self.shaper.setLimits(limits)
            context.logger.info("bandwidth limits changed", metadata: ["up": "\(limits.up)", "down": "\(limits.down)"])
            return JSONResponse.make(self.shaper.status)
        }
    }

    static func requireLocal(_ context: ProviderRequestContext) throws {
        try context.requireControl("The bandwidth limits API")
    }

    /// The decoding problem in a sentence (the value at fault, not Swift's whole dump).
    static func reason(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context), DecodingError.typeMismatch(_, let context),
            DecodingError.valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }
}
