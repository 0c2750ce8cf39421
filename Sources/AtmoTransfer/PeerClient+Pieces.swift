import AsyncHTTPClient
import AtmoProtocol
import Foundation
import NIOCore
import NIOHTTP1
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

    /// The bytes of a piece as they arrived, in the body's own buffers (no copy), collected
    /// on the event loop (`RangeBodyCollector`): what a pull hashes and writes.
    public func fetchChunks(
        of entry: ModelEntry, offset: Int64, length: Int64, received: @escaping @Sendable (Int64) -> Void
    ) async throws -> [ByteBuffer] {
        try await fetchRange(of: entry, offset: offset, length: length, stream: nil, received: received).chunks
    }

    /// `fetchChunks`, read on `eventLoop`, over `connection` when there is one (a swarm
    /// worker's kept-alive connection to this peer) instead of AsyncHTTPClient.
    func fetchChunks(
        of entry: ModelEntry, offset: Int64, length: Int64, on eventLoop: (any EventLoop)?, over connection: RangeConnection?,
        received: @escaping @Sendable (Int64) -> Void
    ) async throws -> [ByteBuffer] {
        try await fetchRange(
            of: entry, offset: offset, length: length, stream: nil, on: eventLoop, over: connection, received: received
        ).chunks
    }

    /// Fetches whole pieces of `lengths` from `offset` and hands each to `take` on the event
    /// loop as soon as it is complete, once the answer's head proved to be this range of this
    /// file (`RangeBodyCollector.PieceStream`). Returns the bytes of the pieces `take` left,
    /// and which it took. A failure part-way leaves the pieces taken before it taken.
    /// `connection`: a kept-alive plain-HTTP connection to this peer to send it over (a swarm
    /// worker's), instead of AsyncHTTPClient.
    func fetchPieces(
        of entry: ModelEntry, offset: Int64, lengths: [Int64], on eventLoop: (any EventLoop)?, over connection: RangeConnection? = nil,
        received: @escaping @Sendable (Int64) -> Void, take: @escaping @Sendable (Int, [ByteBuffer]) -> Bool
    ) async throws -> (chunks: [ByteBuffer], taken: [Bool]) {
        let length = lengths.reduce(0, +)
        let peer = self
        let stream = RangeBodyCollector.PieceStream(
            lengths: lengths,
            accept: { head in
                (try? peer.checkPieceResponse(
                    status: head.status.code, headers: head.headers, entry: entry, offset: offset, length: length)) != nil
            },
            take: take)
        let answer = try await fetchRange(
            of: entry, offset: offset, length: length, stream: stream, on: eventLoop, over: connection, received: received)
        return (answer.chunks, answer.taken)
    }

    /// One range request, its answer checked: exactly the bytes asked for.
    private func fetchRange(
        of entry: ModelEntry, offset: Int64, length: Int64, stream: RangeBodyCollector.PieceStream?, on eventLoop: (any EventLoop)? = nil,
        over connection: RangeConnection? = nil, received: @escaping @Sendable (Int64) -> Void
    ) async throws -> RangeBodyCollector.Answer {
        let peer = self
        let headers = Self.rangeHeaders(of: entry, offset: offset, length: length)
        let shaping = shaper.map {
            RangeBodyCollector.Shaping(
                shaper: $0, peer: shapingPeer ?? URL(string: baseURL)?.host ?? baseURL, modelSize: entry.sizeBytes, background: background)
        }
        let collector = RangeBodyCollector(
            rangeLength: length, otherBodyLimit: Self.maxRefusalBodyBytes, peer: baseURL, floor: throughputFloor, shaping: shaping,
            stream: stream, received: received)
        let answer: RangeBodyCollector.Answer
        do {
            let url = baseURL + HTTPAPI.downloadPrefix + entry.modelID
            if let connection, let path = RangeConnection.requestPath(of: url) {
                answer = try await connection.get(path: path, headers: headers, collector: collector)
            } else {
                let request = try HTTPClient.Request(url: url, method: .GET, headers: headers)
                // The answer's reads and the collector on one loop: a body part handed from the
                // connection's loop to another costs a thread wake-up per read.
                let preference = eventLoop.map { HTTPClient.EventLoopPreference.delegateAndChannel(on: $0) } ?? .indifferent
                let task = http.execute(
                    request: request, delegate: collector, eventLoop: preference, deadline: .now() + .hours(6), logger: logger)
                answer = try await withTaskCancellationHandler {
                    try await task.get()
                } onCancel: {
                    task.cancel()
                }
            }
        } catch {
            // An answer that is not the range was cut after its head: it says what went wrong.
            guard error is RangeBodyCollector.StopReading, let other = collector.answerOtherThanRange else {
                throw PeerClient.connectionError(error, peer: peer.baseURL)
            }
            answer = other
        }
        return try checkRangeAnswer(answer, of: entry, offset: offset, length: length)
    }

    /// The headers of a request for `length` bytes of `entry`'s file from `offset`: the range,
    /// and `If-Range` with the file's ETag, so a changed file is never mixed in.
    static func rangeHeaders(of entry: ModelEntry, offset: Int64, length: Int64) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Range", value: "bytes=\(offset)-\(offset + length - 1)")
        headers.add(name: "If-Range", value: ByteRangeHeaders.etag(sha256: entry.sha256))
        return headers
    }

    /// The answer to a range request, if it is exactly the bytes asked for.
    private func checkRangeAnswer(
        _ answer: RangeBodyCollector.Answer, of entry: ModelEntry, offset: Int64, length: Int64
    ) throws -> RangeBodyCollector.Answer {
        let peer = self
        if answer.head.status.code == 416, let refusal = notHeldRefusal(answer, entry: entry, offset: offset, length: length) {
            throw refusal
        }
        try checkPieceResponse(status: answer.head.status.code, headers: answer.head.headers, entry: entry, offset: offset, length: length)
        guard answer.bytes == length else {
            throw TransferError(.peerUnreachable, "\(peer.baseURL) closed the connection after \(answer.bytes) of \(length) bytes")
        }
        return answer
    }

    /// The largest 416 body read for its `code` (a JSON error is a few hundred bytes).
    static let maxRefusalBodyBytes = 4096

    /// `.notHeld` when a 416's JSON body has `code` `not_held`: the peer is still pulling the
    /// file and does not hold every piece of the range yet (docs/PROTOCOL.md, "Serving while
    /// downloading"). Nil for any other 416 (a range out of the file: the protocol's fault).
    func notHeldRefusal(_ answer: RangeBodyCollector.Answer, entry: ModelEntry, offset: Int64, length: Int64) -> TransferError? {
        var body = ByteBuffer()
        for var chunk in answer.chunks { body.writeBuffer(&chunk) }
        guard let refusal = try? JSONDecoder().decode(HTTPAPI.ErrorBody.self, from: Data(buffer: body)),
            refusal.code == TransferError.Code.notHeld.description
        else { return nil }
        let range = "bytes \(offset)-\(offset + length - 1)"
        return TransferError(.notHeld, "\(baseURL) does not hold \(range) of \(entry.modelID) yet: \(refusal.error.prefix(200))")
    }

    func checkPieceResponse(status: UInt, headers: HTTPHeaders, entry: ModelEntry, offset: Int64, length: Int64) throws(TransferError) {
        let peer = self
        let expectedETag = ByteRangeHeaders.etag(sha256: entry.sha256)
        switch status {
        case 206:
            guard let header = headers.first(name: "Content-Range"),
                let range = ByteRangeHeaders.parseContentRange(header),
                range.first == offset, range.last == offset + length - 1, range.size == entry.sizeBytes
            else {
                throw TransferError(
                    .protocolViolation,
                    "\(peer.baseURL) answered bytes \(offset)-\(offset + length - 1) with Content-Range '\(headers.first(name: "Content-Range") ?? "none")'"
                )
            }
            if let etag = headers.first(name: "ETag"), etag != expectedETag {
                throw TransferError(.sourceChanged, "\(peer.baseURL)'s copy of \(entry.modelID) changed (ETag \(etag)); pull again")
            }
        case 200:
            // If-Range failed: the file behind the id is no longer the one we are assembling.
            if let etag = headers.first(name: "ETag"), etag != expectedETag {
                throw TransferError(.sourceChanged, "\(peer.baseURL)'s copy of \(entry.modelID) changed (ETag \(etag)); pull again")
            }
            throw TransferError(.protocolViolation, "\(peer.baseURL) does not serve byte ranges")
        case 404:
            throw TransferError(.notOffered, "\(peer.baseURL) no longer offers \(entry.modelID)")
        case 409:
            throw TransferError(
                .sourceChanged, "\(peer.baseURL)'s copy of \(entry.modelID) changed on disk; pull again once it has re-indexed")
        case 416:
            throw TransferError(.protocolViolation, "\(peer.baseURL) says bytes \(offset)- are out of range of \(entry.modelID)")
        case 500...599:
            throw TransferError(.peerError, "\(peer.baseURL) answered \(status) for \(entry.modelID)")
        default:
            throw TransferError(.protocolViolation, "\(peer.baseURL) answered \(status) for a piece of \(entry.modelID)")
        }
    }
}
