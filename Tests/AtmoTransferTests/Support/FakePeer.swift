import AtmoProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

@testable import AtmoTransfer

/// A misbehaving provider for tests: serves one catalog entry and the bytes of one file,
/// and answers each piece request the way `behaviour` says (honest, lying, stalling...).
/// Runs in-process on a free loopback port.
struct FakePeer: Sendable {
    /// One piece request as the fake peer saw it.
    struct PieceRequest: Sendable, Equatable {
        /// 0-based count of download requests so far.
        var number: Int
        /// 0 for the first request of this offset, 1 for the first retry...
        var attempt: Int
        var offset: Int64
        var length: Int64
        var rangeHeader: String?
    }

    enum Answer: Sendable {
        /// 206 with the asked bytes.
        case honest
        /// 206 with the asked bytes after a pause.
        case slow(seconds: Double)
        /// 206 with the byte at this file offset flipped (when it lies in the range).
        case flipByte(at: Int64)
        /// 206 whose Content-Range names other bytes than those asked for.
        case wrongContentRange
        /// 200 with the whole file, ignoring the Range header.
        case ignoreRange
        /// Headers and this many body bytes, then silence until the connection is dropped.
        case stallAfter(bytes: Int)
        /// Headers and this many body bytes, then the connection is closed.
        case dropAfter(bytes: Int)
        /// Headers, then `bytes` bytes every `every` seconds: never silent for a stall
        /// timeout, but far too slow.
        case trickle(bytes: Int, every: Double)
        /// No answer at all until the client gives up.
        case hold
        /// This status, with a JSON error body.
        case status(Int)
        /// 416 with the JSON body of a peer that does not hold the range yet (`not_held`).
        case notHeld
    }

    /// What the fake peer saw: requests, and the messages consumers sent.
    final class Log: Sendable {
        private let state = Mutex<(pieces: [PieceRequest], reports: [String], announcements: [String])>(([], [], []))
        var pieces: [PieceRequest] { state.withLock { $0.pieces } }
        /// Bodies of `POST /v1/transfers/reports`.
        var reports: [String] { state.withLock { $0.reports } }
        /// Bodies of `POST /v1/transfers` (`model_request`).
        var announcements: [String] { state.withLock { $0.announcements } }
        /// Bytes of the piece requests answered so far (as asked for).
        var requestedBytes: Int64 { state.withLock { $0.pieces.reduce(0) { $0 + $1.length } } }
        func nextPiece(offset: Int64, length: Int64, header: String?) -> PieceRequest {
            state.withLock { state in
                let attempt = state.pieces.filter { $0.offset == offset }.count
                let request = PieceRequest(
                    number: state.pieces.count, attempt: attempt, offset: offset, length: length, rangeHeader: header)
                state.pieces.append(request)
                return request
            }
        }
        func report(_ body: String) { state.withLock { $0.reports.append(body) } }
        func announce(_ body: String) { state.withLock { $0.announcements.append(body) } }
    }

    let entry: ModelEntry
    let bytes: Data
    let behaviour: @Sendable (PieceRequest) -> Answer
    /// Answers `GET /v1/models/{any id}` with `entry` (a peer that mixes up its models).
    var answersAnyID = false
    /// The piece manifest it serves at `/v1/pieces/{sha256}` (nil: an older peer, 404).
    var manifest: [UInt8]? = nil
    /// A node still pulling the model: it holds only these pieces (of `entry.pieceSize`),
    /// does not list the model, answers `/have`, and refuses other ranges with 416 not_held.
    var partial: (have: Bitfield, pieceSize: Int64)? = nil
    let log = Log()

    init(entry: ModelEntry, bytes: Data, behaviour: @escaping @Sendable (PieceRequest) -> Answer = { _ in .honest }) {
        self.entry = entry
        self.bytes = bytes
        self.behaviour = behaviour
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        let entry = self.entry
        let answersAnyID = self.answersAnyID
        router.get("/health") { _, _ in Self.json(#"{"status":"ok","models_available":1,"http_port":0}"#) }
        router.get("/v1/models") { _, _ in
            Self.json(try WireCoding.encode(HTTPAPI.ModelList(models: [entry])))
        }
        addSwarmRoutes(to: router)
        let partial = self.partial
        router.get("/v1/models/:id") { _, context in
            guard partial == nil, answersAnyID || context.parameters.get("id") == entry.modelID else {
                return Self.json(#"{"error":"Model not found"}"#, status: .notFound)
            }
            return Self.json(try WireCoding.encode(entry))
        }
        router.get("/v1/models/download/:id") { request, context in
            guard answersAnyID || context.parameters.get("id") == entry.modelID else {
                return Self.json(#"{"error":"Model not found"}"#, status: .notFound)
            }
            return try await self.download(request)
        }
        // An older peer: no transfer announcements (it logs them, and answers 404).
        router.post("/v1/transfers") { request, _ in
            let body = try await request.body.collect(upTo: 64 * 1024)
            self.log.announce(String(buffer: body))
            return Self.json(#"{"error":"Not found"}"#, status: .notFound)
        }
        router.post("/v1/transfers/reports") { request, _ in
            let body = try await request.body.collect(upTo: 64 * 1024)
            self.log.report(String(buffer: body))
            return Self.json(#"{"status":"recorded"}"#, status: .accepted)
        }
        return router
    }

    func download(_ request: Request) async throws -> Response {
        let size = Int64(bytes.count)
        let header = request.headers[.range]
        var (offset, length) = (Int64(0), size)
        if let header, header.hasPrefix("bytes="), let dash = header.firstIndex(of: "-") {
            let first = Int64(header[header.index(header.startIndex, offsetBy: 6)..<dash]) ?? 0
            let last = Int64(header[header.index(after: dash)...]) ?? (size - 1)
            (offset, length) = (first, min(last, size - 1) - first + 1)
        }
        let piece = log.nextPiece(offset: offset, length: length, header: header)
        if let refusal = notHeldRefusal(offset: offset, length: length) { return refusal }
        var headers = HTTPFields()
        headers[.acceptRanges] = "bytes"
        headers[.eTag] = ByteRangeHeaders.etag(sha256: entry.sha256)
        headers[.contentType] = "application/octet-stream"
        var body = Data(bytes[Int(offset)..<Int(offset + length)])
        var status = HTTPResponse.Status.partialContent
        headers[.contentRange] = ByteRangeHeaders.contentRange(offset: offset, length: length, size: size)
        switch behaviour(piece) {
        case .honest:
            break
        case .slow(let seconds):
            try await Task.sleep(for: .seconds(seconds))
        case .flipByte(let at):
            if at >= offset && at < offset + length { body[Int(at - offset)] ^= 0x01 }
        case .wrongContentRange:
            headers[.contentRange] = ByteRangeHeaders.contentRange(offset: offset + 1, length: length, size: size)
        case .ignoreRange:
            status = .ok
            headers[.contentRange] = nil
            body = bytes
        case .stallAfter(let count):
            let body = body
            return Response(
                status: status, headers: headers,
                body: ResponseBody(contentLength: body.count) { writer in
                    try await writer.write(ByteBuffer(data: body.prefix(count)))
                    try await Task.sleep(for: .seconds(3600))
                })
        case .dropAfter(let count):
            let body = body
            return Response(
                status: status, headers: headers,
                body: ResponseBody(contentLength: body.count) { writer in
                    try await writer.write(ByteBuffer(data: body.prefix(count)))
                    throw CancellationError()
                })
        case .trickle(let count, let every):
            let body = body
            return Response(
                status: status, headers: headers,
                body: ResponseBody(contentLength: body.count) { writer in
                    var sent = 0
                    while sent < body.count {
                        let end = min(body.count, sent + count)
                        try await writer.write(ByteBuffer(data: body[sent..<end]))
                        sent = end
                        try await Task.sleep(for: .seconds(every))
                    }
                    try await writer.finish(nil)
                })
        case .hold:
            try await Task.sleep(for: .seconds(3600))
        case .status(let code):
            return Self.json(#"{"error":"as you asked"}"#, status: HTTPResponse.Status(code: code))
        case .notHeld:
            var response = Self.json(#"{"error":"not held yet","code":"not_held"}"#, status: .rangeNotSatisfiable)
            response.headers[.contentRange] = "bytes */\(size)"
            return response
        }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(data: body)))
    }

    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        json(Data(text.utf8), status: status)
    }

    static func json(_ data: Data, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(data: data)))
    }
}

/// Runs `body` with `peer` serving on `127.0.0.1:{free port}`; stops it afterwards.
/// `channelHandlers`: added to each connection after the HTTP codec (`withCountingFakePeer`).
func withFakePeer<T: Sendable>(
    _ peer: FakePeer, channelHandlers: @escaping @Sendable () -> [any RemovableChannelHandler] = { [] },
    _ body: @escaping @Sendable (String) async throws -> T
) async throws -> T {
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let quiet = Logger(label: "fake-peer", factory: { _ in SwiftLogNoOpLogHandler() })
    let application = Application(
        router: peer.router(),
        server: .http1(configuration: .init(additionalChannelHandlers: channelHandlers())),
        configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "fake-peer"),
        onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
        logger: quiet)
    // Stopped by a graceful shutdown, never by cancellation: cancelling a server that is
    // accepting a connection traps in NIO (apple/swift-nio#3481).
    // A stalling answer gets one second to end, then it is cancelled.
    var servicesConfiguration = ServiceGroupConfiguration(services: [application], logger: quiet)
    servicesConfiguration.maximumGracefulShutdownDuration = .seconds(1)
    let services = ServiceGroup(configuration: servicesConfiguration)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            try await services.run()
            return nil
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        let result: Result<T, any Error>
        do {
            result = .success(try await body("http://127.0.0.1:\(port)"))
        } catch {
            result = .failure(error)
        }
        await services.triggerGracefulShutdown()
        try await group.waitForAll()
        return try result.get()
    }
}
