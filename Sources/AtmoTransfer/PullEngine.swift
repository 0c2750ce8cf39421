import AsyncHTTPClient
import AtmoProtocol
import AtmoStore
import Foundation
import Logging

/// What to pull and where to put it.
public struct PullRequest: Sendable {
    public var modelID: String
    /// The provider's base URL, e.g. `http://127.0.0.1:14750`.
    public var peerURL: String
    public var destination: LocalModelStore
    /// When set, the pull refuses any other version of the model.
    public var expectedSHA256: String?
    /// This node's id, sent as `requester_node_id`.
    public var requesterNodeID: String

    public init(modelID: String, peerURL: String, destination: LocalModelStore, expectedSHA256: String? = nil, requesterNodeID: String) {
        self.modelID = modelID
        self.peerURL = peerURL
        self.destination = destination
        self.expectedSHA256 = expectedSHA256
        self.requesterNodeID = requesterNodeID
    }
}

/// The outcome of a successful pull.
public struct PullResult: Sendable {
    public var entry: ModelEntry
    /// Where the verified model now is.
    public var path: String
    /// Bytes fetched over the network by this run.
    public var bytesTransferred: Int64
    /// Bytes that were already on disk from an earlier, interrupted run.
    public var resumedBytes: Int64
    /// True when the same version was installed already and nothing was fetched.
    public var alreadyInstalled: Bool
    public var seconds: Double
}

/// Pulls one model from one provider: parallel range requests into a preallocated partial
/// file, SHA-256 over the bytes in file order while they stream, resume state saved in
/// batches, atomic install. Safe against crashes at any point: the partial and its state
/// survive, and a restart continues from the pieces that were synced.
public struct PullEngine: Sendable {
    let http: HTTPClient
    let database: StateDatabase
    let configuration: PullConfiguration
    let logger: Logger

    public init(http: HTTPClient, database: StateDatabase, configuration: PullConfiguration = PullConfiguration(), logger: Logger) {
        self.http = http
        self.database = database
        self.configuration = configuration
        self.logger = logger
    }

    /// The HTTP client configuration pulls need (stall detection through the read timeout).
    public static func httpConfiguration(_ configuration: PullConfiguration) -> HTTPClient.Configuration {
        var http = HTTPClient.Configuration()
        http.timeout = .init(
            connect: .milliseconds(Int64(configuration.connectTimeoutSeconds * 1000)),
            read: .milliseconds(Int64(configuration.stallTimeoutSeconds * 1000)))
        http.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: max(8, configuration.connections))
        http.decompression = .disabled
        // A refused connection is an answer: the pull's own retries (per piece, with
        // back-off) decide what to do, instead of the pool retrying for the whole connect
        // timeout.
        http.connectionPool.retryConnectionEstablishment = false
        return http
    }

    public func pull(_ request: PullRequest, progress: @escaping @Sendable (PullProgress) -> Void = { _ in }) async throws(TransferError) -> PullResult {
        try Validation.checkModelIDForPull(request.modelID)
        let started = ContinuousClock.now
        let peer = PeerClient(baseURL: request.peerURL, http: http, logger: logger)
        guard let entry = try await peer.entry(modelID: request.modelID) else {
            throw TransferError(.notOffered, "\(request.peerURL) does not offer \(request.modelID) (see `atmo models --from \(request.peerURL)`)")
        }
        guard entry.modelID == request.modelID else {
            throw TransferError(
                .protocolViolation, "\(request.peerURL) answered the request for \(request.modelID) with the entry of \(entry.modelID)")
        }
        if let expected = request.expectedSHA256, expected.lowercased() != entry.sha256 {
            throw TransferError(.sourceChanged, "\(request.peerURL) offers \(request.modelID) with SHA-256 \(entry.sha256), not the requested \(expected)")
        }
        let store = request.destination
        if let done = Self.installedResult(entry, in: store) { return done }
        do {
            try store.prepare()
            try store.checkNoNameClash(entry)
        } catch {
            throw TransferError.from(error)
        }

        // One pull per artefact at a time, across processes; the lock dies with the process.
        let lock: Int32?
        do { lock = try FileIO.tryLock(store.lockPath(sha256: entry.sha256)) } catch { throw TransferError.from(error) }
        guard let lockFD = lock else {
            throw TransferError(.alreadyRunning, "\(entry.modelID) is already being downloaded into \(store.directory) by another process")
        }
        defer { FileIO.close(lockFD) }
        // Another pull of the same artefact may have finished between the check above and
        // taking the lock.
        if let done = Self.installedResult(entry, in: store) { return done }

        let session = try PullSession(engine: self, request: request, entry: entry, peer: peer, progress: progress)
        let transferred = try await session.run()
        let seconds = (ContinuousClock.now - started).seconds
        return PullResult(
            entry: entry, path: store.modelPath(for: entry), bytesTransferred: transferred,
            resumedBytes: session.resumedBytes, alreadyInstalled: false, seconds: seconds)
    }
}

extension PullEngine {
    /// The result of a pull that finds this very version installed already.
    static func installedResult(_ entry: ModelEntry, in store: LocalModelStore) -> PullResult? {
        guard let installed = store.installed(modelID: entry.modelID), installed.sha256 == entry.sha256,
            let stat = try? FileIO.stat(store.filePath(of: installed)), stat.size == entry.sizeBytes
        else { return nil }
        return PullResult(
            entry: entry, path: store.filePath(of: installed), bytesTransferred: 0, resumedBytes: 0, alreadyInstalled: true,
            seconds: 0)
    }
}

extension Validation {
    static func checkModelIDForPull(_ id: String) throws(TransferError) {
        guard isValidModelID(id) else {
            throw TransferError(.notOffered, "'\(id)' is not a valid model id (letters, digits, '.', '_', '-'; see `atmo models`)")
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
