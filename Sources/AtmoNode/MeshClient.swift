import AsyncHTTPClient
import AtmoProtocol
import AtmoTransfer
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// A gossip or probe request to a peer that did not get an answer this node can use.
struct MeshRequestError: Error, CustomStringConvertible {
    let peer: String
    let message: String
    /// No whole answer came in time (the exchange's deadline, or a connect or read timeout).
    var timedOut = false
    var description: String { "\(peer): \(message)" }
}

/// Talks to other nodes for the mesh: catalogs in (`GET /v1/catalogs`, or `/v1/models` of an
/// older peer) and out (`POST /v1/catalogs`), and `/health` probes timed for latency.
/// Every answer is bounded in size and time (`timeout` covers connect, head and body:
/// `HTTPClient.exchange`); a peer's failure is an error, never a hang.
///
/// The node's mesh client (`MeshService.client`) has `catalogTimeout(probeTimeout:)`; a probe
/// sets the probe timeout on its copy (`MeshService.probe`). `http` must be configured by
/// `httpConfiguration(probeTimeout:)`, so that only these deadlines end a request.
struct MeshClient: Sendable {
    let http: HTTPClient
    var timeout: TimeAmount = Self.defaultTimeout

    /// The bound of a mesh exchange when nothing longer is configured.
    static let defaultTimeout: TimeAmount = .seconds(10)
    /// How long connecting to a peer may take unless a probe timeout above 10 s is set.
    static let defaultConnectTimeout: TimeAmount = .seconds(3)

    /// The bound of a catalog exchange (`GET` and `POST /v1/catalogs`, an older peer's
    /// `/v1/models`) on a node whose probe timeout is `probeTimeout`: 10 s, or the probe
    /// timeout when that is longer (at most 60 s, `MeshConfiguration.probeTimeoutBounds`).
    /// A probe timeout set above 10 s says the peers' links are slow, and a catalog (up to
    /// 64 MiB) is never smaller than a `/health` answer, so it may take as long; a shorter one
    /// (to see a silent peer sooner) does not cut catalogs below 10 s.
    static func catalogTimeout(probeTimeout: Duration) -> TimeAmount {
        max(defaultTimeout, TimeAmount(probeTimeout))
    }

    /// The configuration of the client under the node's mesh requests. Its read timeout is
    /// the longest deadline one of its exchanges has (`catalogTimeout`, never shorter than
    /// the probe timeout), so it never ends a request before its own deadline: a fixed 10 s
    /// read timeout cut the probe of a peer that stalled after its head at 10 s, whatever
    /// `--probe-timeout` said. Connecting gets `defaultConnectTimeout` (a peer whose host is
    /// gone, its packets dropped, is seen in 3 s), or as long as the read when a probe
    /// timeout above 10 s says the links are slow. Every request still ends by its deadline.
    /// (A client with a read timeout of its own as a stall bound, like the Hub upstream's,
    /// is another client.)
    static func httpConfiguration(probeTimeout: Duration) -> HTTPClient.Configuration {
        let longest = catalogTimeout(probeTimeout: probeTimeout)
        let connect = TimeAmount(probeTimeout) > defaultTimeout ? longest : defaultConnectTimeout
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: connect, read: longest)
        // A refused connection is an answer: the probe or gossip round counts it.
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }

    /// Every fresh catalog `baseURL` knows. A peer without `/v1/catalogs` (an older node)
    /// answers nil: the caller builds its catalog from `/v1/models` and `/health` instead.
    func fetchCatalogs(from baseURL: String) async throws -> HTTPAPI.CatalogBundle? {
        let (status, body) = try await request(.GET, baseURL, HTTPAPI.catalogsPath, limit: WireLimits.maxCatalogBundleBytes)
        if status == .notFound || status == .methodNotAllowed { return nil }
        guard status == .ok else { throw MeshRequestError(peer: baseURL, message: "GET \(HTTPAPI.catalogsPath) answered \(status.code)") }
        do {
            return try HTTPAPI.CatalogBundle.read(body)
        } catch {
            throw MeshRequestError(peer: baseURL, message: "sent an invalid answer: \(error)")
        }
    }

    /// The models of an older peer that has no `/v1/catalogs`.
    func fetchModels(from baseURL: String) async throws -> [ModelEntry] {
        let (status, body) = try await request(.GET, baseURL, HTTPAPI.modelsPath, limit: WireLimits.maxCatalogBundleBytes)
        guard status == .ok else { throw MeshRequestError(peer: baseURL, message: "GET \(HTTPAPI.modelsPath) answered \(status.code)") }
        return try decode(HTTPAPI.ModelList.self, body, from: baseURL).models
    }

    /// Delivers catalogs. A peer that predates `/v1/catalogs` answers 404 or 405: false.
    @discardableResult
    func push(_ bundle: HTTPAPI.CatalogBundle, to baseURL: String) async throws -> Bool {
        let data = try WireCoding.encode(bundle)
        let (status, _) = try await request(.POST, baseURL, HTTPAPI.catalogsPath, body: data, limit: 64 * 1024)
        if status == .notFound || status == .methodNotAllowed { return false }
        guard (200..<300).contains(status.code) else {
            throw MeshRequestError(peer: baseURL, message: "POST \(HTTPAPI.catalogsPath) answered \(status.code)")
        }
        return true
    }

    /// `GET /health` and the time it took (the peer's latency as this node sees it).
    func probe(_ baseURL: String) async throws -> (health: HTTPAPI.Health, roundTrip: Duration) {
        let started = ContinuousClock.now
        let (status, body) = try await request(.GET, baseURL, HTTPAPI.healthPath, limit: 64 * 1024)
        let roundTrip = ContinuousClock.now - started
        guard status == .ok else { throw MeshRequestError(peer: baseURL, message: "GET /health answered \(status.code)") }
        return (try decode(HTTPAPI.Health.self, body, from: baseURL), roundTrip)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ body: Data, from baseURL: String) throws -> T {
        do {
            return try WireCoding.decode(T.self, from: body)
        } catch {
            throw MeshRequestError(peer: baseURL, message: "sent an invalid answer: \(error)")
        }
    }

    private func request(
        _ method: HTTPMethod, _ baseURL: String, _ path: String, body: Data? = nil, limit: Int
    ) async throws -> (HTTPResponseStatus, Data) {
        var request = HTTPClientRequest(url: Self.trimmed(baseURL) + path)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: body))
        }
        do {
            let answer = try await http.exchange(request, timeout: timeout, limit: limit)
            return (answer.status, Data(buffer: answer.body))
        } catch let error as MeshRequestError {
            throw error
        } catch let error as NIOTooManyBytesError {
            let refused = ErrorMapping.answerTooLarge(
                from: baseURL, what: "an answer to \(method) \(path)", limit: limit, underlying: error)
            throw MeshRequestError(peer: baseURL, message: refused.message)
        } catch let error as HTTPClientError where [.deadlineExceeded, .readTimeout, .connectTimeout].contains(error) {
            throw MeshRequestError(peer: baseURL, message: "\(error)", timedOut: true)
        } catch {
            throw MeshRequestError(peer: baseURL, message: "\(error)")
        }
    }

    static func trimmed(_ baseURL: String) -> String {
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }
}
