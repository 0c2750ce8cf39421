import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Serving while downloading (docs/PROTOCOL.md, "Serving while downloading"): the verified
/// pieces of the files this node is pulling (`PartialOffers`), by range, and which pieces it
/// holds (`GET /v1/pieces/{sha256}/have`).
extension ProviderRoutes {
    func registerPartial(on router: Router<ProviderRequestContext>) {
        router.get(RouterPath(stringLiteral: HTTPAPI.piecesPrefix + ":sha256/have")) { _, context in
            try self.pieceAvailability(context.parameters.get("sha256"))
        }
    }

    /// The offer that answers `GET /v1/models/download/{id}` when the inventory does not (see
    /// `PartialOffers.offerToServe`); nil for an invalid id (`lookup` refuses it).
    func partialOffer(for request: Request, id: String?) -> PartialOffers.Offer? {
        guard let id, Validation.isValidModelID(id) else { return nil }
        return partialOffers.offerToServe(
            modelID: id, wanted: Self.strongETagSHA256(request.headers[.ifRange]),
            inventorySHA256: inventory.item(modelID: id)?.entry.sha256)
    }

    /// The SHA-256 a strong ETag of this node's form (`"<64 hex>"`) names.
    static func strongETagSHA256(_ header: String?) -> String? {
        guard let value = header?.trimmingCharacters(in: .whitespaces), value.utf8.count == 66,
            value.hasPrefix("\""), value.hasSuffix("\"")
        else { return nil }
        let hex = String(value.dropFirst().dropLast())
        return Validation.isValidSHA256(hex) ? hex : nil
    }

    /// A range of a file this node is still pulling: the same ranges, `If-Range` and headers
    /// as for an installed file, served only when every piece the range touches is held.
    /// Otherwise 416 with `Content-Range: bytes */SIZE` and `code` `not_held` (a request
    /// for the whole file too, unless every piece is held). The bytes go through the same
    /// `FileBodyPump`; the body ends early if the pull ends meanwhile (`OpenPartialFile`).
    func downloadPartial(_ request: Request, offer: PartialOffers.Offer, includeBody: Bool, channel: any Channel) async throws -> Response {
        let entry = offer.entry
        let size = entry.sizeBytes
        let etag = ByteRangeHeaders.etag(sha256: entry.sha256)
        var headers = HTTPFields()
        headers[.acceptRanges] = "bytes"
        headers[.eTag] = etag
        if request.headers[.range] != nil, let ifRange = request.headers[.ifRange], ifRange.trimmingCharacters(in: .whitespaces) != etag {
            // Another version: the whole file is what If-Range asks for, and this node has
            // not got it to send.
            throw HTTPError(
                .conflict, message: "This node is still downloading \(entry.modelID) version \(entry.sha256), not the one If-Range names")
        }
        let selection = ByteRangeSelection.select(
            range: request.headers[.range], ifRange: request.headers[.ifRange], etag: etag, size: size)
        let (status, offset, length): (HTTPResponse.Status, Int64, Int64)
        switch selection {
        case .unsatisfiable:
            return Self.rangeRefusal(headers, size: size, message: "Range not satisfiable for a file of \(size) bytes", code: nil)
        case .partial(let start, let count):
            (status, offset, length) = (.partialContent, start, count)
            headers[.contentRange] = ByteRangeHeaders.contentRange(offset: start, length: count, size: size)
        case .full:
            (status, offset, length) = (.ok, 0, size)
        }
        let file: OpenPartialFile
        do {
            let offers = partialOffers
            file = try await fileReaders.runIfActive {
                try OpenPartialFile(offers: offers, sha256: entry.sha256, offset: offset, length: length)
            }
        } catch let refusal as PartialRefusal {
            // Not held yet, or the pull just ended (installed: the inventory offers the file
            // within a second or two; or stopped): "ask again", not a failure of this node.
            headers[.contentRange] = nil
            return Self.rangeRefusal(headers, size: size, message: refusal.message, code: TransferError.Code.notHeld.description)
        } catch let error as StoreError where error.code == .notFound {
            // The pull ended and its partial file went away between the check and the open.
            headers[.contentRange] = nil
            return Self.rangeRefusal(
                headers, size: size, message: "This node is no longer downloading \(entry.modelID); ask again shortly",
                code: TransferError.Code.notHeld.description)
        }
        return fileResponse(
            status: status, headers: headers, entry: entry, body: FileBody(file: file, offset: offset, length: length, onChange: {}),
            includeBody: includeBody, channel: channel)
    }

    /// 416 with `Content-Range: bytes */SIZE` and a JSON error (`code` when given).
    static func rangeRefusal(_ headers: HTTPFields, size: Int64, message: String, code: String?) -> Response {
        var headers = headers
        headers[.contentRange] = ByteRangeHeaders.unsatisfiable(size: size)
        var response = JSONResponse.error(.rangeNotSatisfiable, message, code: code)
        response.headers.append(contentsOf: headers)
        return response
    }

    /// `GET /v1/pieces/{sha256}/have`: every piece of an installed file with a manifest
    /// (`complete`), else the verified pieces of a file being pulled; 404 when neither.
    func pieceAvailability(_ raw: String?) throws -> Response {
        let sha256 = (raw ?? "").lowercased()
        guard Validation.isValidSHA256(sha256) else {
            throw WireError(.invalidSHA256, "the path must name a file by its SHA-256: 64 hex characters")
        }
        if let availability = partialOffers.availability(sha256: sha256, installedIn: inventory) {
            return JSONResponse.make(availability)
        }
        guard inventory.hasListed else { throw notFound() }
        throw HTTPError(.notFound, message: "This node holds no piece of \(sha256)")
    }
}
