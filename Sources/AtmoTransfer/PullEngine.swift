import AsyncHTTPClient
import AtmoProtocol
import AtmoStore
import Foundation
import Logging

/// What to pull and where to put it.
public struct PullRequest: Sendable {
    public var modelID: String
    /// Where to fetch from, best first. The pull uses the first source that offers the
    /// model (and `expectedSHA256`, when set) and fails over to the next on a source failure.
    public var sources: [PullSource]
    public var destination: LocalModelStore
    /// When set, the pull refuses any other version of the model.
    public var expectedSHA256: String?
    /// This node's id, sent as `requester_node_id`.
    public var requesterNodeID: String
    /// Sources as they are known now (the node's mesh view), asked every few seconds while a
    /// swarm pull runs: nodes that start holding the model join it. Nil: `sources` only.
    public var discoverSources: (@Sendable () async -> [PullSource])? = nil
    /// The entry the caller knows the model by (the node's mesh view: a complete holder's,
    /// or the one nodes still pulling it announce in their `partial_models`). Used only when
    /// no source offers the model whole: the pull then takes the pieces of the partial
    /// holders among `sources` as they get them (`PullEngine.partialHolder`). Nil: none.
    public var announcedEntry: ModelEntry? = nil

    public init(
        modelID: String, sources: [PullSource], destination: LocalModelStore, expectedSHA256: String? = nil, requesterNodeID: String
    ) {
        self.modelID = modelID
        self.sources = sources
        self.destination = destination
        self.expectedSHA256 = expectedSHA256
        self.requesterNodeID = requesterNodeID
    }

    /// A pull from one provider, e.g. `peerURL` `http://127.0.0.1:14750`.
    public init(modelID: String, peerURL: String, destination: LocalModelStore, expectedSHA256: String? = nil, requesterNodeID: String) {
        self.init(
            modelID: modelID, sources: [PullSource(baseURL: peerURL)], destination: destination, expectedSHA256: expectedSHA256,
            requesterNodeID: requesterNodeID)
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

/// Pulls one model from an ordered list of providers: parallel range requests into a
/// preallocated partial file, SHA-256 over the bytes in file order while they stream,
/// resume state saved in batches, atomic install. A failing provider hands over to the
/// next, which continues from the pieces on disk (see `SourceSelection`). Safe against
/// crashes at any point: the partial and its state survive, and a restart continues from
/// the pieces that were synced.
public struct PullEngine: Sendable {
    let http: HTTPClient
    let database: StateDatabase
    var configuration: PullConfiguration
    let logger: Logger
    /// Where the pull's blocking work runs: opening and reserving the partial, writes,
    /// fsyncs, read-backs for the hash, the resume record (SQLite), the install.
    let blockingIO: BlockingIO
    /// The channel to a source that is not plain HTTP (`PullSource.route` `.relay`); nil
    /// when this engine can only pull over HTTP.
    let channelFactory: (@Sendable (PullSource) -> (any SourceChannel)?)?
    /// Where a pull with a piece manifest offers its verified pieces while it runs (the
    /// node's provider serves them); nil: nowhere.
    public var partialOffers: PartialOffers?
    /// Admits each pull under the storage limit before a byte of the model moves (evicting,
    /// or failing with `storage_full`); nil: no limit, no check (`withStorage`).
    public var storage: StorageAdmission?
    /// Told the bytes each piece brings and the swarm's piece verdicts (`withCounters`).
    public var counters: any TransferCounters = NoTransferCounters()

    /// An engine pulling over `http`, and through `channelFactory` for the sources it supplies
    /// a channel for (relayed ones). Its file and database work runs on `blockingIO`'s pool.
    public init(
        http: HTTPClient, database: StateDatabase, configuration: PullConfiguration = PullConfiguration(), logger: Logger,
        blockingIO: BlockingIO = .shared, channelFactory: (@Sendable (PullSource) -> (any SourceChannel)?)? = nil,
        partialOffers: PartialOffers? = nil
    ) {
        self.http = http
        self.database = database
        self.configuration = configuration
        self.logger = logger
        self.blockingIO = blockingIO
        self.channelFactory = channelFactory
        self.partialOffers = partialOffers
    }

    /// Runs blocking work on the engine's pool, its errors as `TransferError`s.
    func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws(TransferError) -> T {
        do {
            return try await blockingIO.run(work)
        } catch {
            throw PullSession.transferError(error)
        }
    }

    /// The channel to `source`: its factory's, else HTTP to its base URL.
    func channel(to source: PullSource) -> any SourceChannel {
        if let channel = channelFactory?(source) { return channel.shapedAsBackground(configuration.background) }
        var client = PeerClient(baseURL: source.baseURL, http: http, logger: logger)
        if configuration.minimumBytesPerSecond > 0 {
            client.throughputFloor = (configuration.minimumBytesPerSecond, configuration.throughputWindowSeconds)
        }
        client.shaper = configuration.shaper
        client.background = configuration.background
        client.shapingPeer = source.nodeID
        return client
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

    /// Pulls `request.modelID` from the first of `request.sources` that offers it, failing
    /// over to the next source on a source failure. `progress` gets byte-weighted reports,
    /// never backwards within a request id (a restart after a hash mismatch takes a new one);
    /// `onSourceOutcome` hears how each source that was tried did (see `SourceOutcome`).
    /// Throws the most relevant source's error, listing every source, once all failed.
    public func pull(
        _ request: PullRequest, progress: @escaping @Sendable (PullProgress) -> Void = { _ in },
        onSourceOutcome: @escaping @Sendable (PullSource, SourceOutcome) -> Void = { _, _ in }
    ) async throws(TransferError) -> PullResult {
        try Validation.checkModelIDForPull(request.modelID)
        let started = ContinuousClock.now
        let store = request.destination
        let relay = ProgressRelay(progress)
        var selection = SourceSelection(modelID: request.modelID, sources: request.sources, expectedSHA256: request.expectedSHA256)
        // What carries from one source's session to the next.
        var requestID = UUID().uuidString.lowercased()
        var checkpoint: HashCheckpoint? = nil
        var earlierRunBytes: Int64? = nil
        var transferred: Int64 = 0
        // The artefact's lock, once the first source's entry pinned it; dies with the process.
        // Let go at the end, its file removed when no partial is left (`releaseLock`).
        var lock: (fd: Int32, sha256: String)? = nil
        defer { if let lock { PartialDownload.releaseLock(lock.fd, sha256: lock.sha256, in: store) } }
        // The pull's hold on its bytes under the storage limit, once admitted.
        var admitted: StorageTicket? = nil
        defer { admitted?.end() }
        var swarmTried = false
        var holderTried = false

        while true {
            if Task.isCancelled { throw PullSession.transferError(CancellationError()) }
            let source: PullSource
            // No source offers the model whole: a node still pulling it may (once per pull).
            var holder: PartialHolder? = nil
            switch selection.next() {
            case .ask(let next): source = next
            case .giveUp(let error):
                guard !holderTried, let found = try await partialHolder(for: request, after: selection) else { throw error }
                (holderTried, holder, source) = (true, found, found.source)
            }
            let sourceStarted = ContinuousClock.now
            let peer = holder?.channel ?? channel(to: source)
            let answer: ModelEntry?
            do {
                if let holder { answer = holder.entry } else { answer = try await peer.entry(modelID: request.modelID) }
            } catch {
                let failure = Task.isCancelled ? PullSession.transferError(CancellationError()) : error
                if case .stop(let final) = selection.failed(source, failure, transferring: false) { throw final }
                sourceFailed(source, failure, onSourceOutcome)
                continue
            }
            let entry: ModelEntry
            switch selection.answered(source, entry: answer) {
            case .use(let accepted): entry = accepted
            case .skip(let error):
                // A partial holder does not list the model it is still pulling: no failure of its.
                if !(source.partial && error.code == .notOffered) { sourceFailed(source, error, onSourceOutcome) }
                continue
            }

            // The first accepted entry pins the artefact: check the store, take its lock.
            if lock == nil {
                if let done = try await blocking({ Self.installedResult(entry, in: store) }) { return installedAlready(done) }
                let (fd, done) = try await blocking { () throws -> (Int32, PullResult?) in
                    let fd = try Self.lock(entry, in: store)
                    // Another pull of the same artefact may have finished between the check
                    // above and taking the lock, or a crash may have cut its install short.
                    store.finishInterruptedInstalls(sha256: entry.sha256)
                    return (fd, Self.installedResult(entry, in: store))
                }
                lock = (fd, entry.sha256)
                if let done { return installedAlready(done) }
                admitted = try await admit(entry, into: store)
            }

            // An entry naming a piece manifest is pulled from every source at once, each
            // piece verified; without a manifest anywhere, one source at a time.
            // (An entry without one, from an older provider, may still be swarmed when
            // another source names a manifest for the same file.)
            if !swarmTried && configuration.usesPieceManifests && (entry.manifestReference != nil || selection.hasUntriedSources) {
                swarmTried = true
                switch try await swarmPull(
                    request, entry: entry, first: source, firstChannel: peer, firstHave: holder?.have,
                    others: (selection.untriedSources + selection.notOfferingSources).filter { $0 != source }, requestID: requestID,
                    progress: relay.report, onSourceOutcome: onSourceOutcome)
                {
                case .pulled(let result): return result
                case .withoutManifest(let suspects):
                    // Those that named a doubted manifest go last: this one too, when another is left.
                    if suspects.contains(source) && holder == nil && selection.hasUntriedSources(besides: suspects) {
                        selection.tryLast(suspects)
                        continue
                    }
                    selection.tryLast(suspects.filter { $0 != source })
                }
            }
            // A partial holder serves pieces only, each checked against the manifest.
            if let holder, holder.have != nil {
                throw Self.onlyPartialHolders(
                    request.modelID, holders: selection.notOfferingSources.count, "none of them served a piece manifest that checks out")
            }
            // Pulled one source at a time, its pieces are not verified: the resume record must
            // not say they were.
            var plain = entry
            (plain.pieceSize, plain.piecesSHA256) = (nil, nil)
            let maxAttempts =
                selection.hasUntriedSources
                ? min(configuration.maxAttemptsPerPiece, configuration.maxAttemptsBeforeFailover) : configuration.maxAttemptsPerPiece
            // Opens (and for a new partial, reserves) the file and reads the resume record.
            let session = try await blocking { [self, checkpoint, earlierRunBytes, requestID, plain] () throws -> PullSession in
                try PullSession(
                    engine: self, request: request, entry: plain, source: source, peer: peer, requestID: requestID,
                    checkpoint: checkpoint, earlierRunBytes: earlierRunBytes, maxAttempts: maxAttempts, progress: relay.report)
            }
            earlierRunBytes = session.earlierRunBytes
            do {
                let fetched = try await session.run()
                transferred += fetched
                onSourceOutcome(source, .success(bytes: fetched, seconds: (ContinuousClock.now - sourceStarted).seconds))
                return PullResult(
                    entry: entry, path: store.modelPath(for: entry), bytesTransferred: transferred, resumedBytes: session.earlierRunBytes,
                    alreadyInstalled: false, seconds: (ContinuousClock.now - started).seconds)
            } catch {
                transferred += session.fetchedBytes
                let decision = selection.failed(source, error, transferring: true)
                sourceFailed(source, error, onSourceOutcome)
                switch decision {
                case .stop(let final): throw final
                case .failOver:
                    checkpoint = session.hashCheckpoint
                    logger.info("source failed; failing over", metadata: ["peer": "\(source)", "error": "\(error)"])
                case .restart:
                    // The partial was discarded: the next source starts from zero, as a new transfer.
                    (requestID, checkpoint, earlierRunBytes) = (UUID().uuidString.lowercased(), nil, 0)
                    logger.info("hash mismatch; trying the next source from zero", metadata: ["peer": "\(source)"])
                }
            }
        }
    }

    /// Tells the caller a source failed, if the failure was the source's.
    private func sourceFailed(
        _ source: PullSource, _ error: TransferError, _ onSourceOutcome: @Sendable (PullSource, SourceOutcome) -> Void
    ) {
        if SourceSelection.isSourceFailure(error) { onSourceOutcome(source, .failure(error)) }
    }
}

extension PullEngine {
    /// Prepares the store for `entry` and takes the artefact's lock (one pull per artefact
    /// at a time, across processes). Returns the lock's descriptor.
    static func lock(_ entry: ModelEntry, in store: LocalModelStore) throws(TransferError) -> Int32 {
        let lock: Int32?
        do {
            try store.prepare()
            try store.checkNoNameClash(entry)
            lock = try FileIO.tryLock(store.lockPath(sha256: entry.sha256))
        } catch {
            throw TransferError.from(error)
        }
        guard let lock else {
            throw TransferError(.alreadyRunning, "\(entry.modelID) is already being downloaded into \(store.directory) by another process")
        }
        return lock
    }

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
