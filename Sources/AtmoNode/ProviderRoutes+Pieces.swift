import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET`/`HEAD /v1/pieces/{sha256}` (docs/PROTOCOL.md, "Piece manifests"): the piece
/// manifest of a file this node offers, as its wire bytes (the concatenated 32-byte piece
/// digests). `HEAD` gets the same status and headers (the router answers it from `GET`).
/// `/v1/pieces/{sha256}/have` is in ProviderRoutes+Partial.
extension ProviderRoutes {
    func registerPieces(on router: Router<ProviderRequestContext>) {
        router.get(RouterPath(stringLiteral: HTTPAPI.piecesPrefix + ":sha256")) { _, context in
            try await self.pieceManifest(context.parameters.get("sha256"))
        }
    }

    /// 200 `application/octet-stream` with the manifest's bytes and its SHA-256 as a strong
    /// ETag; 400 `invalid_sha256` for a path that is not 64 hex characters; 404 when this
    /// node offers no file of that SHA-256 with a manifest (503 while the first scan has not
    /// listed the folders).
    func pieceManifest(_ raw: String?) async throws -> Response {
        let sha256 = (raw ?? "").lowercased()
        guard Validation.isValidSHA256(sha256) else {
            throw WireError(.invalidSHA256, "the path must name a file by its SHA-256: 64 hex characters")
        }
        // A file this node offers whole: the manifest stored with its hash.
        if let manifest = try await inventory.manifest(sha256: sha256, using: BlockingIO(threadPool: fileReaders)) {
            return Self.manifestResponse(manifest)
        }
        // HOOK (serving while downloading): a file this node is still pulling is offered as
        // partial (`PartialOffers`) with the manifest its pull checks pieces against; that
        // manifest is what the partial entry names, so it is served the same way.
        if let offer = partialOffers.offer(sha256: sha256) {
            return Self.manifestResponse(offer.manifest)
        }
        guard inventory.hasListed else { throw notFound() }
        throw HTTPError(.notFound, message: "This node has no piece manifest for \(sha256)")
    }

    static func manifestResponse(_ manifest: PieceManifest) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/octet-stream"
        headers[.contentLength] = String(manifest.digests.count)
        headers[.eTag] = "\"\(manifest.manifestSHA256)\""
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: manifest.digests)))
    }
}
