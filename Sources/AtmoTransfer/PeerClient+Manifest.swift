import AsyncHTTPClient
import AtmoProtocol
import AtmoStore
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

extension PeerClient {
    /// Bytes over the manifest's size accepted in an answer (room for a JSON error body).
    static let manifestBodySlack = 4096

    /// `GET /v1/pieces/{sha256}` (docs/PROTOCOL.md, "Piece manifests"): the piece manifest
    /// `entry` names, checked against it before it is returned.
    ///
    /// Nil when the entry names no manifest, or the peer has none for it (404 or 405: a peer
    /// without this endpoint; 503: still scanning). The body is read up to the size the
    /// entry implies (`pieceCount * 32` bytes, plus a little), never more. A body of the
    /// wrong length or whose SHA-256 is not the entry's `pieces_sha256` is a
    /// `.protocolViolation` naming the peer: the caller can blame it and ask another.
    public func manifest(for entry: ModelEntry) async throws(TransferError) -> PieceManifest? {
        let expected: (pieceCount: Int, bytes: Int)?
        do { expected = try PieceManifest.expectedSize(for: entry) } catch { throw TransferError(.protocolViolation, error.message) }
        guard let expectedBytes = expected?.bytes else { return nil }
        var request = HTTPClientRequest(url: baseURL + HTTPAPI.piecesPrefix + entry.sha256)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/octet-stream")
        let status: HTTPResponseStatus
        let body: ByteBuffer
        do {
            // A large manifest (32 MiB at most) gets a second per MiB on top of the usual bound,
            // head and body together.
            let timeout = controlTimeout + .seconds(Int64(expectedBytes >> 20))
            do {
                let answer = try await http.exchange(
                    request, timeout: timeout, limit: expectedBytes + Self.manifestBodySlack, logger: logger)
                (status, body) = (answer.status, answer.body)
            } catch is NIOTooManyBytesError {
                throw TransferError(
                    .protocolViolation,
                    "\(baseURL) sent a piece manifest for \(entry.modelID) longer than the \(expectedBytes) bytes its entry implies")
            }
        } catch {
            throw Self.connectionError(error, peer: baseURL)
        }
        switch status {
        case .ok:
            break
        case .notFound, .methodNotAllowed, .serviceUnavailable:
            return nil
        default:
            throw Self.statusError(status, body: Data(buffer: body), what: "the piece manifest of \(entry.modelID)")
        }
        do {
            return try PieceManifest.decode(Array(buffer: body), for: entry)
        } catch {
            throw TransferError(.protocolViolation, "\(baseURL) sent a piece manifest that does not match its catalog entry: \(error.message)")
        }
    }
}
