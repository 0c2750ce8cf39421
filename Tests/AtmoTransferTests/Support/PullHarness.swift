import AsyncHTTPClient
import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Crypto
import Foundation
import Logging
import Synchronization
import Testing

@testable import AtmoTransfer

/// Shared set-up of the pull tests: small pieces and short retry delays so they run fast.
/// The stall timeout (also the HTTP client's read timeout, for the entry and manifest
/// requests too) is 30 s, as in production: a loaded CI delayed honest answers past the 2 s
/// it was (`readTimeout` failures); a test that wants stalls caught sooner says so. The
/// connect timeout is 10 s: at 2 s a loaded run's busy event loop gave "did not accept a
/// connection in time" for a loopback peer. Transfer reports get 60 s instead of their
/// production 2 s (a stop) and 5 s (a swarm's completion): tests check that the peer heard
/// them, and a loaded run can take longer than that to answer a loopback POST, which
/// drops the report (the HTTP client's read timeout still ends a silent one after 30 s).
enum PullHarness {
    static let logger = Logger(label: "atmo.test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let requester = "0123456789abcdef"

    static func configuration(
        connections: Int = 4, stallTimeout: Double = 30, attempts: Int = 3, retryDelay: Double = 0.02
    ) -> PullConfiguration {
        var configuration = PullConfiguration()
        configuration.pieceSize = 64 * 1024
        configuration.connections = connections
        configuration.maxPiecesAhead = 8
        configuration.stallTimeoutSeconds = stallTimeout
        configuration.connectTimeoutSeconds = 10
        configuration.maxAttemptsPerPiece = attempts
        configuration.retryBaseDelaySeconds = retryDelay
        configuration.reportTimeoutSeconds = 60
        return configuration
    }

    /// Runs `body` with a pull engine on a fresh HTTP client configured for `configuration`.
    static func withEngine<T: Sendable>(
        _ configuration: PullConfiguration = PullHarness.configuration(), database: StateDatabase,
        _ body: (PullEngine) async throws -> T
    ) async throws -> T {
        try await HTTPClient.withHTTPClient(configuration: PullEngine.httpConfiguration(configuration)) { http in
            try await body(PullEngine(http: http, database: database, configuration: configuration, logger: logger))
        }
    }

    static func request(_ modelID: String, from peer: String, into store: LocalModelStore, sha256: String? = nil) -> PullRequest {
        PullRequest(modelID: modelID, peerURL: peer, destination: store, expectedSHA256: sha256, requesterNodeID: requester)
    }

    /// Pulls and returns the outcome instead of throwing, so tests can check failures.
    static func pull(
        _ engine: PullEngine, _ request: PullRequest, progress: @escaping @Sendable (PullProgress) -> Void = { _ in },
        outcomes: OutcomeLog = OutcomeLog()
    ) async -> Result<PullResult, TransferError> {
        do throws(TransferError) {
            return .success(try await engine.pull(request, progress: progress, onSourceOutcome: outcomes.record))
        } catch {
            return .failure(error)
        }
    }

    /// The catalog entry a provider offers for the one model in it.
    static func onlyEntry(of node: RunningNode) throws -> ModelEntry {
        let entries = node.node.inventory.entries
        try #require(entries.count == 1, "the provider should offer exactly one model, not \(entries.map(\.modelID))")
        return entries[0]
    }

    /// Every file under the store folder (partials included), relative, sorted.
    static func files(in store: LocalModelStore) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: store.directory)
        var names: [String] = []
        while let name = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: store.directory + "/" + name, isDirectory: &isDirectory), !isDirectory.boolValue {
                names.append(name)
            }
        }
        return names.sorted()
    }

    static func partials(in store: LocalModelStore) -> [String] {
        files(in: store).filter { $0.hasSuffix(".part") }
    }

    /// A pull from several sources, best first.
    static func request(
        _ modelID: String, from sources: [PullSource], into store: LocalModelStore, sha256: String? = nil
    ) -> PullRequest {
        PullRequest(modelID: modelID, sources: sources, destination: store, expectedSHA256: sha256, requesterNodeID: requester)
    }

    /// A loopback port nothing listens on (bound, then closed).
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        try #require(bound)
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Collects the per-source outcomes a pull reports.
final class OutcomeLog: Sendable {
    private let outcomes = Mutex<[(source: PullSource, outcome: SourceOutcome)]>([])
    var all: [(source: PullSource, outcome: SourceOutcome)] { outcomes.withLock { $0 } }
    func record(_ source: PullSource, _ outcome: SourceOutcome) { outcomes.withLock { $0.append((source, outcome)) } }

    /// Each outcome as `(base URL, error code)`, nil for a success.
    var summary: [Summary] {
        all.map { entry in
            switch entry.outcome {
            case .success: return Summary(url: entry.source.baseURL, failure: nil)
            case .failure(let error): return Summary(url: entry.source.baseURL, failure: error.code)
            }
        }
    }

    /// Bytes the one successful source delivered.
    var successBytes: Int64? {
        for entry in all { if case .success(let bytes, _) = entry.outcome { return bytes } }
        return nil
    }

    struct Summary: Equatable, CustomStringConvertible {
        var url: String
        var failure: TransferError.Code?
        var description: String { "\(url): \(failure.map { "\($0)" } ?? "success")" }
    }
}

/// Collects progress reports from the engine's callback.
final class ProgressLog: Sendable {
    private let reports = Mutex<[PullProgress]>([])
    var all: [PullProgress] { reports.withLock { $0 } }
    func record(_ progress: PullProgress) { reports.withLock { $0.append(progress) } }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
    var success: Success? {
        if case .success(let value) = self { return value }
        return nil
    }
}

/// Hex SHA-256 of bytes in memory (small test data only).
enum SHA256Hex {
    static func of(_ data: Data) -> String {
        var hasher = Crypto.SHA256()
        hasher.update(data: data)
        return hasher.finalize().hexString
    }
}
