import AsyncHTTPClient
import AtmoProtocol
import Foundation
import NIOCore
import NIOFoundationCompat

extension PeerClient {
    /// GETs one piece with `Range` and `If-Range`, checking that the answer is exactly the
    /// bytes asked for: in one buffer.
    public func fetchPiece(
        of entry: ModelEntry, offset: Int64, length: Int64, received: @escaping @Sendable (Int64) -> Void
    ) async throws -> ByteBuffer {
        let chunks = try await fetchChunks(of: entry, offset: offset, length: length, received: received)
        if chunks.count == 1 { return chunks[0] }
        var buffer = ByteBufferAllocator().buffer(capacity: Int(length))
        for var chunk in chunks { buffer.writeBuffer(&chunk) }
        return buffer
    }

    /// The bytes of a piece as they arrived, in the body's own buffers (no copy): what a
    /// swarm pull hashes and writes.
    public func fetchChunks(
        of entry: ModelEntry, offset: Int64, length: Int64, received: @escaping @Sendable (Int64) -> Void
    ) async throws -> [ByteBuffer] {
        let peer = self
        var request = HTTPClientRequest(url: baseURL + HTTPAPI.downloadPrefix + entry.modelID)
        request.headers.add(name: "Range", value: "bytes=\(offset)-\(offset + length - 1)")
        request.headers.add(name: "If-Range", value: ByteRangeHeaders.etag(sha256: entry.sha256))
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .hours(6), logger: logger)
        } catch {
            throw PeerClient.connectionError(error, peer: peer.baseURL)
        }
        if response.status.code == 416,
            let refusal = await notHeldRefusal(response, entry: entry, offset: offset, length: length)
        {
            throw refusal
        }
        try checkPieceResponse(response, entry: entry, offset: offset, length: length)
        var chunks: [ByteBuffer] = []
        var bytes: Int64 = 0
        let clock = ContinuousClock()
        let started = clock.now
        var floor = throughputFloor.map {
            ThroughputFloor(minimumBytesPerSecond: $0.bytesPerSecond, windowSeconds: $0.windowSeconds, start: 0)
        }
        do {
            for try await chunk in response.body {
                guard bytes + Int64(chunk.readableBytes) <= length else {
                    throw TransferError(.protocolViolation, "\(peer.baseURL) sent more bytes than the range it confirmed")
                }
                bytes += Int64(chunk.readableBytes)
                chunks.append(chunk)
                received(bytes)
                // The chunk that completes the piece is never held against it.
                if bytes < length,
                    let rate = floor?.shortfall(received: bytes, now: (clock.now - started).seconds)
                {
                    throw TransferError(
                        .timeout, "\(peer.baseURL) is trickling (\(Int(rate)) bytes/s, under the floor of \(Int(throughputFloor?.bytesPerSecond ?? 0)))")
                }
            }
        } catch {
            throw PeerClient.connectionError(error, peer: peer.baseURL)
        }
        guard bytes == length else {
            throw TransferError(.peerUnreachable, "\(peer.baseURL) closed the connection after \(bytes) of \(length) bytes")
        }
        return chunks
    }

    /// The largest 416 body read for its `code` (a JSON error is a few hundred bytes).
    static let maxRefusalBodyBytes = 4096

    /// `.notHeld` when a 416's JSON body has `code` `not_held`: the peer is still pulling the
    /// file and does not hold every piece of the range yet (docs/PROTOCOL.md, "Serving while
    /// downloading"). Nil for any other 416 (a range out of the file: the protocol's fault).
    func notHeldRefusal(
        _ response: HTTPClientResponse, entry: ModelEntry, offset: Int64, length: Int64
    ) async -> TransferError? {
        guard let body = try? await response.body.collect(upTo: Self.maxRefusalBodyBytes),
            let answer = try? JSONDecoder().decode(HTTPAPI.ErrorBody.self, from: Data(buffer: body)),
            answer.code == TransferError.Code.notHeld.description
        else { return nil }
        let range = "bytes \(offset)-\(offset + length - 1)"
        return TransferError(.notHeld, "\(baseURL) does not hold \(range) of \(entry.modelID) yet: \(answer.error.prefix(200))")
    }

    func checkPieceResponse(_ response: HTTPClientResponse, entry: ModelEntry, offset: Int64, length: Int64) throws(TransferError) {
        let peer = self
        let expectedETag = ByteRangeHeaders.etag(sha256: entry.sha256)
        switch response.status.code {
        case 206:
            guard let header = response.headers.first(name: "Content-Range"),
                let range = ByteRangeHeaders.parseContentRange(header),
                range.first == offset, range.last == offset + length - 1, range.size == entry.sizeBytes
            else {
                throw TransferError(
                    .protocolViolation,
                    "\(peer.baseURL) answered bytes \(offset)-\(offset + length - 1) with Content-Range '\(response.headers.first(name: "Content-Range") ?? "none")'")
            }
            if let etag = response.headers.first(name: "ETag"), etag != expectedETag {
                throw TransferError(.sourceChanged, "\(peer.baseURL)'s copy of \(entry.modelID) changed (ETag \(etag)); pull again")
            }
        case 200:
            // If-Range failed: the file behind the id is no longer the one we are assembling.
            if let etag = response.headers.first(name: "ETag"), etag != expectedETag {
                throw TransferError(.sourceChanged, "\(peer.baseURL)'s copy of \(entry.modelID) changed (ETag \(etag)); pull again")
            }
            throw TransferError(.protocolViolation, "\(peer.baseURL) does not serve byte ranges")
        case 404:
            throw TransferError(.notOffered, "\(peer.baseURL) no longer offers \(entry.modelID)")
        case 409:
            throw TransferError(.sourceChanged, "\(peer.baseURL)'s copy of \(entry.modelID) changed on disk; pull again once it has re-indexed")
        case 416:
            throw TransferError(.protocolViolation, "\(peer.baseURL) says bytes \(offset)- are out of range of \(entry.modelID)")
        case 500...599:
            throw TransferError(.peerError, "\(peer.baseURL) answered \(response.status.code) for \(entry.modelID)")
        default:
            throw TransferError(.protocolViolation, "\(peer.baseURL) answered \(response.status.code) for a piece of \(entry.modelID)")
        }
    }
}
