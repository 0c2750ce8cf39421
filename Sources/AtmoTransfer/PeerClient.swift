import AsyncHTTPClient
import AtmoProtocol
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Talks to one provider's HTTP API. Normal outcomes (a 404 is an answer) are results;
/// failures to talk at all are `TransferError`s.
public struct PeerClient: SourceChannel {
    public let baseURL: String
    let http: HTTPClient
    let logger: Logger
    /// Parallel range requests a pull makes to this peer.
    public var maxConcurrentPieces = Int.max
    /// A piece body slower than this on average over `windowSeconds` is given up as
    /// trickling (`ThroughputFloor`); nil: no floor.
    public var throughputFloor: (bytesPerSecond: Double, windowSeconds: Double)? = nil
    /// The node's bandwidth shaper: range bodies are read no faster than its limits allow
    /// (the reads pause, so TCP slows the sender), and each answer's time to its first
    /// byte is a round trip for its delay controller. Nil: unshaped.
    public var shaper: BandwidthShaper? = nil
    /// Who this peer is to the shaper's per-peer limits: its node id, else its host.
    public var shapingPeer: String? = nil
    /// Whether pulls through this client are background transfers (they yield to delay).
    public var background = false

    public var address: String { baseURL }
    /// Bound on the time for a small JSON request, head and body (`HTTPClient.exchange`).
    var controlTimeout: TimeAmount = .seconds(15)

    /// `baseURL` like `http://127.0.0.1:14750` (a trailing slash is ignored).
    public init(baseURL: String, http: HTTPClient, logger: Logger) {
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        self.baseURL = url
        self.http = http
        self.logger = logger
    }

    /// `GET /health`.
    public func health() async throws(TransferError) -> HTTPAPI.Health {
        try await getJSON(HTTPAPI.healthPath, as: HTTPAPI.Health.self)
    }

    /// `GET /v1/models`.
    public func catalog() async throws(TransferError) -> [ModelEntry] {
        try await getJSON(HTTPAPI.modelsPath, as: HTTPAPI.ModelList.self).models
    }

    /// `GET /v1/models/{id}`: nil when the peer does not offer it.
    public func entry(modelID: String) async throws(TransferError) -> ModelEntry? {
        do {
            return try await getJSON(HTTPAPI.modelsPath + "/" + modelID, as: ModelEntry.self)
        } catch where error.code == .notOffered {
            return nil
        }
    }

    /// `POST /v1/transfers`: announces a transfer. Nil when the peer predates this endpoint.
    public func requestTransfer(_ request: ModelRequest) async throws(TransferError) -> ModelTransferStart? {
        let (status, body) = try await send(.POST, HTTPAPI.transfersPath, json: request)
        if status == .notFound || status == .methodNotAllowed { return nil }
        guard status == .ok else { throw Self.statusError(status, body: body, what: "the transfer request") }
        do {
            return try WireCoding.decode(ModelTransferStart.self, from: body)
        } catch {
            throw TransferError(.protocolViolation, "\(baseURL) answered the transfer request with an invalid model_transfer_start: \(error)")
        }
    }

    /// `POST /v1/transfers/reports` with a `model_transfer_complete` or `_cancel`.
    public func report(_ outcome: TransferReport, timeout: TimeAmount?) async {
        switch outcome {
        case .complete(let complete): await report(complete, timeout: timeout)
        case .cancel(let cancel): await report(cancel, timeout: timeout)
        }
    }

    /// `POST /v1/transfers/reports` with a `model_transfer_complete` or `_cancel`. Best effort:
    /// a provider that cannot take it changes nothing for the consumer.
    public func report<Report: Encodable & Sendable>(_ report: Report, timeout: TimeAmount? = nil) async {
        do {
            _ = try await send(.POST, HTTPAPI.reportsPath, json: report, timeout: timeout)
        } catch {
            logger.debug("transfer report not delivered", metadata: ["peer": "\(baseURL)", "error": "\(error)"])
        }
    }

    func getJSON<T: Decodable>(_ path: String, as type: T.Type) async throws(TransferError) -> T {
        let (status, body) = try await send(.GET, path, json: Optional<ModelRequest>.none)
        guard status == .ok else { throw Self.statusError(status, body: body, what: path) }
        do {
            return try WireCoding.decode(T.self, from: body)
        } catch {
            throw TransferError(.protocolViolation, "\(baseURL)\(path) sent an invalid answer: \(error)")
        }
    }

    func send<Body: Encodable>(
        _ method: HTTPMethod, _ path: String, json: Body?, timeout: TimeAmount? = nil
    ) async throws(TransferError) -> (HTTPResponseStatus, Data) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let json {
            do {
                request.body = .bytes(ByteBuffer(data: try WireCoding.encode(json)))
            } catch {
                throw TransferError(.localError, "cannot encode request: \(error)")
            }
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        do {
            let answer = try await http.exchange(
                request, timeout: timeout ?? controlTimeout, limit: WireLimits.maxMessageBytes, logger: logger)
            return (answer.status, Data(buffer: answer.body))
        } catch {
            throw Self.connectionError(error, peer: baseURL)
        }
    }

    static func statusError(_ status: HTTPResponseStatus, body: Data, what: String) -> TransferError {
        let detail = (try? JSONDecoder().decode(HTTPAPI.ErrorBody.self, from: body))?.error ?? status.reasonPhrase
        switch ErrorMapping.peerCode(forHTTPStatus: Int(status.code)) {
        case .notOffered: return TransferError(.notOffered, "the peer does not offer it (\(detail))")
        case .sourceChanged: return TransferError(.sourceChanged, "the peer's copy changed (\(detail)); pull again once it has re-indexed")
        case let code: return TransferError(code, "the peer answered \(status.code) to \(what): \(detail)")
        }
    }

    /// Turns connection-level failures into errors a person can act on (the failure kept as
    /// `underlying`, but for a cancellation); `limit`: the bound of the read that failed (`WireLimits.maxMessageBytes`
    /// for a control answer) and `what` the answer it read, both named when it was over.
    static func connectionError(
        _ error: any Error, peer: String, what: String = "an answer", limit: Int = WireLimits.maxMessageBytes
    ) -> TransferError {
        if let error = error as? TransferError { return error }
        if error is CancellationError { return TransferError(.cancelled, "cancelled") }
        if let error = error as? HTTPClientError {
            if error == .cancelled { return TransferError(.cancelled, "cancelled") }
            if error == .connectTimeout {
                return TransferError(.timeout, "\(peer) did not accept a connection in time (is the address right?)", underlying: error)
            }
            if error == .readTimeout || error == .deadlineExceeded {
                // Retried per piece by the pull; the pull's failure adds how often it was tried.
                return TransferError(.timeout, "\(peer) stopped sending data (\(error))", underlying: error)
            }
            if error == .remoteConnectionClosed {
                return TransferError(.peerUnreachable, "\(peer) closed the connection", underlying: error)
            }
        }
        if error is NIOTooManyBytesError {
            return ErrorMapping.answerTooLarge(from: peer, what: what, limit: limit, underlying: error)
        }
        if ErrorMapping.posixErrno(in: error) == ECONNREFUSED {
            return TransferError(.peerUnreachable, "cannot connect to \(peer): connection refused (is `atmo serve` running there?)", underlying: error)
        }
        return TransferError(.peerUnreachable, "cannot reach \(peer): \(error)", underlying: error)
    }
}
