import AtmoProtocol
import AtmoStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension ProviderRoutes {
    /// Bytes read from disk per write to the socket.
    static let readChunkSize = 1 << 20

    /// `GET`/`HEAD /v1/models/download/{id}` with single byte ranges, `If-Range` and a strong
    /// ETag (the SHA-256). See `ByteRangeSelection` for every case. The file is read in
    /// 1 MiB chunks off the event loop, so memory stays flat whatever its size.
    func download(_ request: Request, id: String?, includeBody: Bool) async throws -> Response {
        let item = try lookup(id)
        let entry = item.entry
        let size = entry.sizeBytes
        let etag = ByteRangeHeaders.etag(sha256: entry.sha256)
        try await checkUnchanged(item)

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
        headers[.contentType] = "application/octet-stream"
        headers[.contentDisposition] = "attachment; filename=\"\(entry.fileName)\""
        headers[.contentLength] = String(length)
        guard includeBody else {
            return Response(status: status, headers: headers, body: ResponseBody(contentLength: Int(length)) { _ in })
        }
        let ledger = self.ledger
        let path = item.path
        let expected = item.stat
        let rescan = requestRescan
        return Response(
            status: status, headers: headers,
            body: ResponseBody(contentLength: Int(length)) { writer in
                ledger.downloadStarted()
                var sent: Int64 = 0
                defer { ledger.downloadEnded(bytes: sent) }
                let fd = try await BlockingIO.run { () throws -> Int32 in
                    let fd = try FileIO.open(path, flags: O_RDONLY)
                    guard (try? FileIO.fstat(fd)) == expected else {
                        FileIO.close(fd)
                        rescan()
                        throw StoreError(.busy, "\(path) changed after the response started; aborting it")
                    }
                    return fd
                }
                defer { FileIO.close(fd) }
                while sent < length {
                    let count = Int(min(Int64(Self.readChunkSize), length - sent))
                    let position = offset + sent
                    let chunk = try await BlockingIO.run { () throws -> ByteBuffer in
                        var buffer = ByteBufferAllocator().buffer(capacity: count)
                        let got = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw throws(StoreError) in
                            try FileIO.pread(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<count]), offset: position, path: path)
                        }
                        guard got == count else { throw StoreError(.corrupt, "\(path) shrank while being served") }
                        return buffer
                    }
                    try await writer.write(chunk)
                    sent += Int64(count)
                }
                try await writer.finish(nil)
            })
    }

    /// A file that changed since it was hashed must not be served under the old hash:
    /// answer 409 and rescan, so the next catalog carries the new hash.
    func checkUnchanged(_ item: InventoryItem) async throws {
        let path = item.path
        let current = try? await BlockingIO.run { try FileIO.stat(path) }
        guard current == item.stat else {
            requestRescan()
            throw HTTPError(.conflict, message: "Model file changed on this node and is being re-indexed; try again shortly")
        }
    }
}

extension HTTPField.Name {
    static let ifRange = HTTPField.Name("If-Range")!
    static let contentDisposition = HTTPField.Name("Content-Disposition")!
}
