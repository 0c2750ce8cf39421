import AtmoProtocol
import AtmoStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOPosix

extension ProviderRoutes {
    /// `GET`/`HEAD /v1/models/download/{id}` with single byte ranges, `If-Range` and a strong
    /// ETag (the SHA-256). See `ByteRangeSelection` for every case. The body is sent by the
    /// connection's `FileBodyPump` (chunked reads and writes on its event loop), so memory
    /// stays flat whatever the file's size. `HEAD` gets the same status and headers.
    func download(_ request: Request, id: String?, includeBody: Bool, channel: any Channel) async throws -> Response {
        // A file this node is still pulling: its verified pieces (ProviderRoutes+Partial).
        if let offer = partialOffer(for: request, id: id) {
            return try await downloadPartial(request, offer: offer, includeBody: includeBody, channel: channel)
        }
        let item = try lookup(id)
        let entry = item.entry
        let size = entry.sizeBytes
        let etag = ByteRangeHeaders.etag(sha256: entry.sha256)
        // Opened (and checked against the hashed version) before the head goes out, so a
        // changed file is a 409, never a 200 with a missing body.
        let file = try await openUnchanged(item)

        let selection = ByteRangeSelection.select(
            range: request.headers[.range], ifRange: request.headers[.ifRange], etag: etag, size: size)
        var headers = HTTPFields()
        headers[.acceptRanges] = "bytes"
        headers[.eTag] = etag
        if selection == .unsatisfiable {
            headers[.contentRange] = ByteRangeHeaders.unsatisfiable(size: size)
            var response = JSONResponse.error(.rangeNotSatisfiable, "Range not satisfiable for a file of \(size) bytes")
            response.headers.append(contentsOf: headers)
            return response
        }
        let (status, offset, length): (HTTPResponse.Status, Int64, Int64)
        switch selection {
        case .partial(let start, let count):
            (status, offset, length) = (.partialContent, start, count)
            headers[.contentRange] = ByteRangeHeaders.contentRange(offset: start, length: count, size: size)
        default:
            (status, offset, length) = (.ok, 0, size)
        }
        let body = FileBody(file: file, offset: offset, length: length, onChange: requestRescan)
        return fileResponse(status: status, headers: headers, entry: entry, body: body, includeBody: includeBody, channel: channel)
    }

    /// The answer that sends `body` (its head only for `HEAD`), counted by the ledger.
    func fileResponse(
        status: HTTPResponse.Status, headers: HTTPFields, entry: ModelEntry, body: FileBody, includeBody: Bool, channel: any Channel
    ) -> Response {
        let body = body.ofModel(size: entry.sizeBytes)
        var headers = headers
        headers[.contentType] = "application/octet-stream"
        headers[.contentDisposition] = "attachment; filename=\"\(entry.fileName)\""
        headers[.contentLength] = String(body.length)
        guard includeBody else {
            return Response(status: status, headers: headers, body: ResponseBody())
        }
        let ledger = self.ledger
        let readers = fileReaders
        let mesh = self.mesh
        return Response(
            status: status, headers: headers,
            body: ResponseBody(contentLength: Int(body.length)) { writer in
                ledger.downloadStarted()
                ledger.usage.record(.served, sha256: entry.sha256, modelID: entry.modelID)
                var tracked = body
                // The one peer on the client's host, else the node that asked for this model
                // from there (its model_request): range requests name nobody (docs/METRICS.md).
                let client = channel.remoteAddress?.ipAddress
                let peer = mesh.nodeID(ofClientAt: client) ?? ledger.metrics.requester(address: client, modelID: entry.modelID)
                tracked.served = ledger.metrics.httpServedCounter(peer: peer)
                tracked.progress = ledger.uploads.begin(
                    modelID: entry.modelID, sha256: entry.sha256, peer: channel.remoteAddress?.ipAddress, route: "http", sizeBytes: body.length)
                var sent: Int64 = 0
                defer {
                    ledger.downloadEnded(bytes: sent)
                    tracked.progress.map(ledger.uploads.end)
                }
                do {
                    sent = try await FileBodyPump.send(tracked, on: channel, readers: readers)
                } catch let error as FileBodyError {
                    sent = error.written
                    throw error
                }
                try await writer.finish(nil)
            })
    }

    /// Opens the file to serve. One that changed since it was hashed (or went away) must not
    /// be served under the old hash: answer 409 and rescan, so the next catalog carries the
    /// new hash.
    func openUnchanged(_ item: InventoryItem) async throws -> OpenModelFile {
        do {
            return try await fileReaders.runIfActive { try OpenModelFile(item) }
        } catch let error as StoreError where error.code == .conflict || error.code == .notFound {
            requestRescan()
            throw HTTPError(.conflict, message: "Model file changed on this node and is being re-indexed; try again shortly")
        }
    }
}

extension HTTPField.Name {
    static let ifRange = HTTPField.Name("If-Range")!
    static let contentDisposition = HTTPField.Name("Content-Disposition")!
}
