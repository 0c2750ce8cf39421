import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoTransfer

/// Pulls from an ordered list of sources: the first that offers the artefact is used, a
/// failing one hands over to the next, which continues from the pieces on disk.
@Suite(.serialized)
struct PullFailoverTests {
    static let size = PullFailureTests.size
    static let pieceSize = Int64(PullFailureTests.pieceSize)
    static let pieceCount = (size + PullFailureTests.pieceSize - 1) / PullFailureTests.pieceSize

    @Test func anUnreachableFirstSourceHandsOverToTheSecond() async throws {
        let (entry, bytes) = PullFailureTests.model()
        let good = FakePeer(entry: entry, bytes: bytes)
        let dead = PullSource(baseURL: "http://127.0.0.1:\(try PullHarness.closedPort())", nodeID: "dead-node")
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            try await withFakePeer(good) { url in
                let alive = PullSource(baseURL: url, nodeID: "alive-node")
                let (progress, outcomes) = (ProgressLog(), OutcomeLog())
                let outcome = try await PullHarness.withEngine(database: try StateDatabase()) { engine in
                    try await withDeadline(60) {
                        await PullHarness.pull(
                            engine, PullHarness.request(entry.modelID, from: [dead, alive], into: store), progress: progress.record,
                            outcomes: outcomes)
                    }
                }
                let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
                #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == bytes)
                #expect(result.bytesTransferred == Int64(Self.size) && result.resumedBytes == 0)
                #expect(outcomes.summary == [.init(url: dead.baseURL, failure: .peerUnreachable), .init(url: url, failure: nil)])
                #expect(outcomes.successBytes == Int64(Self.size))
                #expect(!progress.all.isEmpty && progress.all.allSatisfy { $0.source == alive && $0.peer == url })
                // The transfer was announced to (and reported to) the source actually used.
                #expect(good.log.announcements.count == 1)
                #expect(good.log.announcements.first?.contains(#""target_node_id":"alive-node""#) == true)
                #expect(good.log.reports.contains { $0.contains(#""verification_status":"success""#) })
            }
        }
    }

    /// The first source serves six pieces, then only errors: after its retries the pull
    /// moves to the second, which is asked for exactly the pieces still missing. One
    /// connection, so which pieces the first source delivered is certain.
    @Test func aSourceThatDiesMidTransferHandsOverTheRestOnly() async throws {
        let (entry, bytes) = PullFailureTests.model()
        let served = 6 * Self.pieceSize
        let dying = FakePeer(entry: entry, bytes: bytes) { $0.offset < served ? .honest : .status(503) }
        let good = FakePeer(entry: entry, bytes: bytes)
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            let database = try StateDatabase()
            try await withFakePeers([dying, good]) { urls in
                let sources = urls.map { PullSource(baseURL: $0) }
                let (progress, outcomes) = (ProgressLog(), OutcomeLog())
                let outcome = try await PullHarness.withEngine(PullHarness.configuration(connections: 1), database: database) { engine in
                    try await withDeadline(60) {
                        await PullHarness.pull(
                            engine, PullHarness.request(entry.modelID, from: sources, into: store), progress: progress.record,
                            outcomes: outcomes)
                    }
                }
                let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
                #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == bytes)

                // The second source sent only what the first had not.
                #expect(good.log.pieces.allSatisfy { $0.offset >= served && $0.attempt == 0 })
                #expect(good.log.requestedBytes == Int64(Self.size) - served)
                #expect(result.bytesTransferred == Int64(Self.size))
                #expect(result.resumedBytes == 0)
                #expect(outcomes.summary == [.init(url: urls[0], failure: .peerError), .init(url: urls[1], failure: nil)])
                #expect(outcomes.successBytes == Int64(Self.size) - served)

                // The first source heard that the transfer stopped; the second was asked to
                // resume at the first missing byte and heard that it succeeded.
                #expect(dying.log.reports.contains { $0.contains("model_transfer_cancel") && $0.contains("network_error") })
                #expect(!dying.log.reports.contains { $0.contains("verification_status") })
                #expect(good.log.announcements.count == 1)
                #expect(good.log.announcements.first?.contains(#""resume_from_byte":\#(served)"#) == true)
                #expect(good.log.reports.contains { $0.contains(#""verification_status":"success""#) })

                // One progress sequence across the switch: never backwards, never past the
                // total, first source then second, never back.
                let reports = progress.all
                #expect(Set(reports.map(\.requestID)).count == 1)
                #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.bytesDone <= $1.bytesDone && $0.piecesDone <= $1.piecesDone })
                #expect(reports.allSatisfy { $0.bytesDone <= $0.totalBytes })
                let used = reports.compactMap(\.source).reduce(into: [PullSource]()) { if $0.last != $1 { $0.append($1) } }
                #expect(used == sources)
                #expect(reports.last?.phase == .completed && reports.last?.bytesDone == Int64(Self.size))
                #expect(try database.download(sha256: entry.sha256) == nil)
                #expect(PullHarness.partials(in: store).isEmpty)
            }
        }
    }

    /// Every kind of source failure hands over, with four connections; the second source
    /// is never asked for the pieces the first one wrote. (Pieces 4, 5 and 6 are each asked
    /// for after one more piece was written, so at least three came from the first.)
    @Test(arguments: [
        (FakePeer.Answer.status(503), TransferError.Code.peerError),
        (.status(409), .sourceChanged),
        (.status(404), .notOffered),
        (.dropAfter(bytes: 1000), .peerUnreachable),
        (.stallAfter(bytes: 10), .timeout),
        (.wrongContentRange, .protocolViolation),
        (.ignoreRange, .protocolViolation),
    ])
    func everySourceFailureHandsOver(answer: FakePeer.Answer, code: TransferError.Code) async throws {
        let (entry, bytes) = PullFailureTests.model()
        let served = 6 * Self.pieceSize
        let failing = FakePeer(entry: entry, bytes: bytes) { $0.offset < served ? .honest : answer }
        let good = FakePeer(entry: entry, bytes: bytes)
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            try await withFakePeers([failing, good]) { urls in
                let outcomes = OutcomeLog()
                // 2 s: with 0.5 s, a busy machine's pause in the good
                // source's stream was taken for a stall (seen once in a fresh-clone run).
                let configuration = PullHarness.configuration(connections: 4, stallTimeout: 2, attempts: 2)
                let outcome = try await PullHarness.withEngine(configuration, database: try StateDatabase()) { engine in
                    try await withDeadline(60) {
                        await PullHarness.pull(
                            engine, PullHarness.request(entry.modelID, from: urls.map { PullSource(baseURL: $0) }, into: store),
                            outcomes: outcomes)
                    }
                }
                let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
                #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == bytes)
                #expect(outcomes.summary == [.init(url: urls[0], failure: code), .init(url: urls[1], failure: nil)])
                // Nothing fetched twice from the good source, and not the whole file.
                let offsets = good.log.pieces.map(\.offset)
                #expect(Set(offsets).count == offsets.count)
                #expect(good.log.requestedBytes <= Int64(Self.size) - 3 * Self.pieceSize, "\(good.log.requestedBytes)")
                #expect(outcomes.successBytes == good.log.requestedBytes)
                #expect(result.bytesTransferred == Int64(Self.size))
            }
        }
    }

    @Test func aSourceWithAnotherHashIsSkipped() async throws {
        let (wanted, wantedBytes) = PullFailureTests.model(seed: 1, version: "1")
        let (other, otherBytes) = PullFailureTests.model(seed: 2, version: "2")
        let stale = FakePeer(entry: other, bytes: otherBytes)
        let good = FakePeer(entry: wanted, bytes: wantedBytes)
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            try await withFakePeers([stale, good]) { urls in
                let outcomes = OutcomeLog()
                let outcome = try await PullHarness.withEngine(database: try StateDatabase()) { engine in
                    await PullHarness.pull(
                        engine,
                        PullHarness.request(wanted.modelID, from: urls.map { PullSource(baseURL: $0) }, into: store, sha256: wanted.sha256),
                        outcomes: outcomes)
                }
                let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
                #expect(result.entry.sha256 == wanted.sha256)
                #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == wantedBytes)
                #expect(outcomes.summary == [.init(url: urls[0], failure: .sourceChanged), .init(url: urls[1], failure: nil)])
                #expect(stale.log.pieces.isEmpty && stale.log.announcements.isEmpty && stale.log.reports.isEmpty)
            }
        }
    }

    /// Without `--sha256`, the first source's version is the one assembled: a later source
    /// with another version is skipped, never spliced in.
    @Test func anotherVersionIsNeverMixedIn() async throws {
        let (entry, bytes) = PullFailureTests.model(seed: 1, version: "1")
        let (other, otherBytes) = PullFailureTests.model(seed: 2, version: "2")
        let served = 6 * Self.pieceSize
        let dying = FakePeer(entry: entry, bytes: bytes) { $0.offset < served ? .honest : .status(500) }
        let otherVersion = FakePeer(entry: other, bytes: otherBytes)
        let good = FakePeer(entry: entry, bytes: bytes)
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            try await withFakePeers([dying, otherVersion, good]) { urls in
                let outcomes = OutcomeLog()
                let outcome = try await PullHarness.withEngine(PullHarness.configuration(connections: 1), database: try StateDatabase()) {
                    engine in
                    try await withDeadline(60) {
                        await PullHarness.pull(
                            engine, PullHarness.request(entry.modelID, from: urls.map { PullSource(baseURL: $0) }, into: store),
                            outcomes: outcomes)
                    }
                }
                let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
                #expect(result.entry.sha256 == entry.sha256)
                #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == bytes)
                #expect(
                    outcomes.summary == [
                        .init(url: urls[0], failure: .peerError), .init(url: urls[1], failure: .sourceChanged),
                        .init(url: urls[2], failure: nil),
                    ])
                #expect(otherVersion.log.pieces.isEmpty)
                #expect(good.log.requestedBytes == Int64(Self.size) - served)
            }
        }
    }

    /// Every source fails in its own way: the pull fails with the failed transfer's error
    /// (the most relevant), and the message says what happened at each source.
    @Test func whenEverySourceFailsTheErrorListsThemAll() async throws {
        let (entry, bytes) = PullFailureTests.model()
        let (unrelated, unrelatedBytes) = PullFailureTests.model(id: "something-else")
        let dead = PullSource(baseURL: "http://127.0.0.1:\(try PullHarness.closedPort())")
        let lacking = FakePeer(entry: unrelated, bytes: unrelatedBytes)
        let broken = FakePeer(entry: entry, bytes: bytes) { _ in .status(500) }
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            try await withFakePeers([lacking, broken]) { urls in
                let sources = [dead] + urls.map { PullSource(baseURL: $0) }
                let outcomes = OutcomeLog()
                let outcome = try await PullHarness.withEngine(PullHarness.configuration(attempts: 2), database: try StateDatabase()) {
                    engine in
                    try await withDeadline(60) {
                        await PullHarness.pull(engine, PullHarness.request(entry.modelID, from: sources, into: store), outcomes: outcomes)
                    }
                }
                let failure = try #require(outcome.failure)
                #expect(failure.code == .peerError)
                #expect(failure.exitCode == 3)
                let lines = failure.message.split(separator: "\n").map(String.init)
                #expect(lines.first == "could not pull \(entry.modelID) from any of 3 sources:", "\(failure.message)")
                #expect(lines.count == 4, "\(failure.message)")
                for (line, source) in zip(lines.dropFirst(), sources) {
                    #expect(line.hasPrefix("  - \(source.baseURL): "), "\(line)")
                }
                #expect(lines.count == 4 && lines[1].contains("connection refused") && lines[2].contains("does not offer"))
                #expect(lines.count == 4 && lines[3].contains("500"))
                #expect(
                    outcomes.summary == [
                        .init(url: dead.baseURL, failure: .peerUnreachable), .init(url: urls[0], failure: .notOffered),
                        .init(url: urls[1], failure: .peerError),
                    ])
                #expect(store.installed(modelID: entry.modelID) == nil)
            }
        }
    }

    /// A source that corrupts a byte fails the whole-file hash: the partial is discarded
    /// and the next source is tried from zero, under a new request id.
    @Test func aHashMismatchIsRetriedFromTheNextSource() async throws {
        let (entry, bytes) = PullFailureTests.model()
        let liar = FakePeer(entry: entry, bytes: bytes) { _ in .flipByte(at: Int64(Self.size / 2)) }
        let good = FakePeer(entry: entry, bytes: bytes)
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            try await withFakePeers([liar, good]) { urls in
                let (progress, outcomes) = (ProgressLog(), OutcomeLog())
                let outcome = try await PullHarness.withEngine(database: try StateDatabase()) { engine in
                    try await withDeadline(60) {
                        await PullHarness.pull(
                            engine, PullHarness.request(entry.modelID, from: urls.map { PullSource(baseURL: $0) }, into: store),
                            progress: progress.record, outcomes: outcomes)
                    }
                }
                let result = try #require(outcome.success, "\(String(describing: outcome.failure))")
                #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == bytes)
                #expect(good.log.requestedBytes == Int64(Self.size))
                #expect(result.bytesTransferred == 2 * Int64(Self.size))
                #expect(outcomes.summary == [.init(url: urls[0], failure: .hashMismatch), .init(url: urls[1], failure: nil)])
                #expect(liar.log.reports.contains { $0.contains("hash_mismatch") })
                // Two transfers, two request ids; each one's progress is monotonic.
                let reports = progress.all
                let ids = reports.map(\.requestID).reduce(into: [String]()) { if $0.last != $1 { $0.append($1) } }
                #expect(ids.count == 2)
                for id in ids {
                    let run = reports.filter { $0.requestID == id }
                    #expect(zip(run, run.dropFirst()).allSatisfy { $0.bytesDone <= $1.bytesDone })
                }
            }
        }
    }

    /// The hash is retried from other sources once: a second mismatch ends the pull, and
    /// the third source is never asked.
    @Test func aSecondHashMismatchEndsThePull() async throws {
        let (entry, bytes) = PullFailureTests.model()
        let liars = (0..<2).map { _ in FakePeer(entry: entry, bytes: bytes) { _ in .flipByte(at: 100) } }
        let unused = FakePeer(entry: entry, bytes: bytes)
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            let database = try StateDatabase()
            try await withFakePeers(liars + [unused]) { urls in
                let outcomes = OutcomeLog()
                let outcome = try await PullHarness.withEngine(database: database) { engine in
                    try await withDeadline(60) {
                        await PullHarness.pull(
                            engine, PullHarness.request(entry.modelID, from: urls.map { PullSource(baseURL: $0) }, into: store),
                            outcomes: outcomes)
                    }
                }
                let failure = try #require(outcome.failure)
                #expect(failure.code == .hashMismatch)
                #expect(failure.message.contains("failed twice"), "\(failure.message)")
                #expect(outcomes.summary == [.init(url: urls[0], failure: .hashMismatch), .init(url: urls[1], failure: .hashMismatch)])
                #expect(unused.log.pieces.isEmpty && unused.log.announcements.isEmpty)
                #expect(store.installed(modelID: entry.modelID) == nil)
                #expect(PullHarness.partials(in: store).isEmpty)
                #expect(try database.download(sha256: entry.sha256) == nil)
            }
        }
    }

    /// The next source's session takes over the running hash only when every piece in it is
    /// still among the pieces on disk; otherwise it hashes from the start.
    @Test func theHashCarriesOverOnlyForPiecesOnDisk() async throws {
        let (entry, bytes) = PullFailureTests.model()
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            try store.prepare()
            let database = try StateDatabase()
            // A partial with pieces 0-2 written, as a failed session leaves it.
            let partial = store.partialPath(sha256: entry.sha256)
            try bytes.prefix(3 * Int(Self.pieceSize)).write(to: URL(fileURLWithPath: partial))
            try FileHandle(forWritingTo: URL(fileURLWithPath: partial)).truncate(atOffset: UInt64(Self.size))
            var written = Bitfield(count: Self.pieceCount)
            for index in 0..<3 { written[index] = true }
            try database.saveDownload(
                DownloadRecord(
                    entry: entry, pieceSize: Self.pieceSize, partialPath: partial, sourceURL: "http://a.test:1", durablePieces: [],
                    writtenPieces: written.bytes, bootID: DownloadRecord.currentBootID))
            var hasher = HashCheckpoint()
            hasher.hasher.update(data: bytes.prefix(2 * Int(Self.pieceSize)))
            hasher.pieces = 2
            let carried = hasher
            var beyond = hasher
            beyond.pieces = 4
            let beyondDisk = beyond
            try await PullHarness.withEngine(database: database) { engine in
                let source = PullSource(baseURL: "http://b.test:1")
                func session(_ checkpoint: HashCheckpoint?) throws -> PullSession {
                    try PullSession(
                        engine: engine, request: PullHarness.request(entry.modelID, from: [source], into: store), entry: entry,
                        source: source, peer: PeerClient(baseURL: source.baseURL, http: engine.http, logger: PullHarness.logger),
                        requestID: "r", checkpoint: checkpoint, earlierRunBytes: 0, maxAttempts: 8, progress: { _ in })
                }
                let taken = try session(carried)
                #expect(taken.coordinator.plan.hashCursor == 2)
                #expect(taken.startBytes == 3 * Self.pieceSize && taken.earlierRunBytes == 0)
                #expect(taken.hashCheckpoint.pieces == 2)
                #expect(taken.hashCheckpoint.hasher.finalize() == carried.hasher.finalize())
                let refused = try session(beyondDisk)
                #expect(refused.coordinator.plan.hashCursor == 0)
                #expect(refused.hashCheckpoint.pieces == 0)
                #expect(try session(nil).coordinator.plan.hashCursor == 0)
            }
        }
    }
}

/// Runs `body` with every peer serving on its own free port, URLs in the same order.
func withFakePeers<T: Sendable>(_ peers: [FakePeer], _ body: @escaping @Sendable ([String]) async throws -> T) async throws -> T {
    guard let first = peers.first else { return try await body([]) }
    return try await withFakePeer(first) { url in
        try await withFakePeers(Array(peers.dropFirst())) { urls in try await body([url] + urls) }
    }
}
