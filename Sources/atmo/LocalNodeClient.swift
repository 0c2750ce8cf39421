import AsyncHTTPClient
import AtmoNode
import AtmoProtocol
import AtmoTransfer
import Foundation
import NIOCore
import NIOFoundationCompat

/// The node running on this state folder (found through `node.json`), asked over HTTP on
/// this machine. Commands that show the mesh go through it, since it holds the mesh view.
struct LocalNodeClient {
    let file: LocalNodeFile
    /// The state folder whose `node.json` named the node: read again when nothing answers at
    /// `file.baseURL` any more (the node may have restarted on another port).
    var stateDirectory: String? = nil

    /// The running node of `stateDirectory`, if any answers as the one its file names.
    static func find(stateDirectory: String) async -> LocalNodeClient? {
        guard case .found(let client) = await lookUp(stateDirectory: stateDirectory) else { return nil }
        return client
    }

    /// The running node, or an exit with what to do.
    static func require(stateDirectory: String, json: Bool, alternative: String) async -> LocalNodeClient {
        guard let node = await find(stateDirectory: stateDirectory) else {
            Failure(
                message: "no node is running on \(stateDirectory): start one with `atmo serve`\(alternative)",
                exitCode: ExitStatus.unreachable
            ).exit(json: json, code: "no_node")
        }
        return node
    }

    /// `get`, or an exit with what went wrong (for commands that only show the answer).
    func getOrExit<T: Decodable>(_ path: String, query: [(String, String?)] = [], as type: T.Type, json: Bool) async -> T {
        do {
            return try await get(path, query: query, as: T.self)
        } catch {
            Failure(message: "the local node did not answer: \(error)", exitCode: ExitStatus.unreachable).exit(json: json, code: "no_node")
        }
    }

    /// `GET path`: head and body (at most `limit` bytes) within `timeout`, or an error.
    func get<T: Decodable>(
        _ path: String, query: [(String, String?)] = [], as type: T.Type, timeout: TimeAmount = .seconds(15),
        limit: Int = WireLimits.maxCatalogBundleBytes
    ) async throws -> T {
        var components = URLComponents(string: file.baseURL + path)
        let items = query.compactMap { name, value in value.map { URLQueryItem(name: name, value: $0) } }
        if !items.isEmpty { components?.queryItems = items }
        guard let url = components?.string else { throw Failure(message: "bad local URL for \(path)", exitCode: ExitStatus.failure) }
        var configuration = Self.httpConfiguration(read: min(timeout, .seconds(10)))
        configuration.connectionPool.retryConnectionEstablishment = false
        return try await HTTPClient.withHTTPClient(configuration: configuration) { http in
            // Head and body within `timeout` (`exchange`): a node that trickles its answer is an error.
            let answer = try await http.exchange(HTTPClientRequest(url: url), timeout: timeout, limit: limit)
            guard answer.status == .ok else {
                throw LocalNodeError(status: Int(answer.status.code), body: Data(buffer: answer.body))
            }
            // Decoded within the same limit it was read with (a large mesh view passes 8 MiB).
            return try WireCoding.decode(T.self, from: Data(buffer: answer.body), limit: limit)
        }
    }

    /// The HTTP client of requests to the node: a node never redirects, so a redirect (to
    /// whatever host) is its answer, not followed.
    static func httpConfiguration(read: TimeAmount) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(2), read: read)
        configuration.redirectConfiguration = .disallow
        return configuration
    }
}

/// An error answer of the local node.
struct LocalNodeError: Error, CustomStringConvertible {
    var status: Int
    var message: String
    /// The answer's `code`, if it had one.
    var code: String?
    var description: String { message }

    init(status: Int, message: String, code: String? = nil) {
        self.status = status
        self.message = message
        self.code = code
    }

    /// The error of an answer with `status` and a JSON error body (or none).
    init(status: Int, body: Data) {
        let parsed = try? JSONDecoder().decode(HTTPAPI.ErrorBody.self, from: body)
        self.init(status: status, message: parsed?.error ?? "HTTP \(status)", code: parsed?.code)
    }

    /// What the answer means (`ErrorMapping`): the exit status of a command it ends.
    var mapped: TransferError.Code { ErrorMapping.code(ofLocalAnswer: status, wireCode: code) }
}
