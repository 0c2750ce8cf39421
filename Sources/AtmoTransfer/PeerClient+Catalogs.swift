import AsyncHTTPClient
import AtmoProtocol
import Foundation
import NIOCore
import NIOFoundationCompat

extension PeerClient {
    /// `GET /v1/catalogs`: every catalog the peer knows (its own and those it learned),
    /// read and decoded within `WireLimits.maxCatalogBundleBytes` (`HTTPAPI.CatalogBundle.read`):
    /// at most that many bytes are held, once, then the catalogs decoded from them.
    ///
    /// Catalogs of the answer that were refused (invalid, nested too deep) are left out, kept
    /// in the bundle's `rejected` and logged as a warning naming the peer and the reason.
    ///
    /// Throws, naming the peer: `peer_unreachable`/`timeout` when it cannot be asked;
    /// `not_offered` for a 404 or 405 (a node from before the mesh, or no node);
    /// `peer_error` for another status or an answer over the bound (`too_large`);
    /// `protocol_violation` for an answer that is not a bundle.
    public func catalogBundle(timeout: TimeAmount = .seconds(20)) async throws(TransferError) -> HTTPAPI.CatalogBundle {
        let limit = WireLimits.maxCatalogBundleBytes
        var request = HTTPClientRequest(url: baseURL + HTTPAPI.catalogsPath)
        request.headers.add(name: "Accept", value: "application/json")
        let answer: CollectedResponse
        do {
            answer = try await http.exchange(request, timeout: timeout, limit: limit, logger: logger)
        } catch {
            throw Self.connectionError(error, peer: baseURL, what: "catalogs", limit: limit)
        }
        switch answer.status {
        case .ok:
            break
        case .notFound, .methodNotAllowed:
            throw TransferError(.notOffered, "\(baseURL) serves no \(HTTPAPI.catalogsPath) (a node from before the mesh, or not a node)")
        default:
            throw Self.statusError(answer.status, body: Data(buffer: answer.body), what: HTTPAPI.catalogsPath)
        }
        let bundle: HTTPAPI.CatalogBundle
        do {
            bundle = try HTTPAPI.CatalogBundle.read(Data(buffer: answer.body, byteTransferStrategy: .noCopy))
        } catch {
            throw TransferError(.protocolViolation, "\(baseURL) sent catalogs that cannot be read: \(error)")
        }
        if let first = bundle.rejected.first {
            logger.warning(
                "catalogs of a peer refused",
                metadata: ["peer": "\(baseURL)", "refused": "\(bundle.rejected.count)", "reason": "\(first)"])
        }
        return bundle
    }
}
