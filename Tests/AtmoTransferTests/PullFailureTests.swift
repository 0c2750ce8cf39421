import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

@testable import AtmoTransfer

/// Pulls from peers that lie, stall, vanish or change their files, and into a full disk.
@Suite(.serialized)
struct PullFailureTests {
    static let size = 1024 * 1024 + 77
    static let pieceSize = 64 * 1024

    /// A model served by a fake peer: `size` deterministic bytes under one id.
    static func model(id: String = "fake-model", seed: UInt8 = 3, size: Int = PullFailureTests.size, version: String = "1")
        -> (ModelEntry, Data)
    {
        let bytes = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ Int(seed)) ^ seed })
        let entry = ModelEntry(
            modelID: id, name: "Fake", type: "llm", format: "gguf", sizeBytes: Int64(size), sha256: SHA256Hex.of(bytes),
            version: version)
        return (entry, bytes)
    }

    /// A peer that flips one byte: the hash fails, nothing is installed, the partial is
    /// discarded, and an installed good copy of the same model id stays as it was.
    @Test func lyingPeerIsCaughtAndTheGoodCopyIsKept() async throws {
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            let database = try StateDatabase()
            let (good, goodBytes) = Self.model(seed: 1, version: "1")
            let (newer, newerBytes) = Self.model(seed: 2, version: "2")
            try await withFakePeer(FakePeer(entry: good, bytes: goodBytes)) { url in
                try await PullHarness.withEngine(database: database) { engine in
                    _ = try await engine.pull(PullHarness.request(good.modelID, from: url, into: store))
                }
            }
            let goodPath = store.modelPath(for: good)
            let liar = FakePeer(entry: newer, bytes: newerBytes) { _ in .flipByte(at: Int64(Self.size / 2)) }
            try await withFakePeer(liar) { url in
                try await PullHarness.withEngine(database: database) { engine in
                    let outcome = await PullHarness.pull(engine, PullHarness.request(newer.modelID, from: url, into: store))
                    let failure = try #require(outcome.failure)
                    #expect(failure.code == .hashMismatch)
                    #expect(failure.exitCode == 5)
                    #expect(failure.message.contains(newer.sha256))
                }
            }
            #expect(store.installed(modelID: good.modelID)?.sha256 == good.sha256)
            #expect(store.installed(modelID: good.modelID)?.version == "1")
            #expect(try Data(contentsOf: URL(fileURLWithPath: goodPath)) == goodBytes)
            #expect(PullHarness.partials(in: store).isEmpty)
            #expect(try database.download(sha256: newer.sha256) == nil)
            #expect(liar.log.reports.contains { $0.contains("hash_mismatch") })
            #expect(liar.log.reports.contains { $0.contains(#""verification_status":"failed""#) })
        }
    }

    @Test func wrongContentRangeIsAProtocolViolation() async throws {
        try await expectFailure(.protocolViolation, mentioning: "Content-Range") { $0.number == 3 ? .wrongContentRange : .honest }
    }

    @Test func fullBodyForARangeRequestIsAProtocolViolation() async throws {
        try await expectFailure(.protocolViolation, mentioning: "byte ranges") { _ in .ignoreRange }
    }

    @Test func errorStatusesAreReported() async throws {
        try await expectFailure(.notOffered, mentioning: "no longer offers") { _ in .status(404) }
        try await expectFailure(.sourceChanged, mentioning: "changed") { _ in .status(409) }
        try await expectFailure(.peerError, mentioning: "503") { _ in .status(503) }
    }

    /// A peer that sends headers and some bytes of one piece, then nothing: each attempt
    /// ends at the stall timeout, and after the configured attempts the pull fails with
    /// `timeout` (not a hang: `expectFailure`'s guard). The stall timeout is 2 s so that an
    /// honest piece whose answer a starved machine delays is not the one that runs out of
    /// attempts first.
    @Test func stalledPeerTimesOutAfterTheConfiguredAttempts() async throws {
        let stalled = Int64(5 * Self.pieceSize)
        let peer = try await expectFailure(
            .timeout, mentioning: "failed 3 times",
            configuration: PullHarness.configuration(stallTimeout: 2, attempts: 3, retryDelay: 0.05)
        ) { $0.offset == stalled ? .stallAfter(bytes: 1000) : .honest }
        let asked = peer.log.pieces.filter { $0.offset == stalled }.count
        #expect(asked == 3, "the stalled piece was asked for \(asked) times")
    }

    /// A peer that keeps a piece alive with a few bytes now and then (never silent for the
    /// stall timeout) is below the throughput floor: that attempt is given up and retried.
    /// At 500 bytes/s the 64 KiB piece would take over 2 minutes, past the pull's guard:
    /// the pull completes only if the floor dropped the trickle. The retries are honest, but
    /// a starved machine may cut one of them too (its parts late by more than a window), so
    /// the count is at least 2, not exactly 2.
    @Test func tricklingPeerIsRetriedLikeAStalledOne() async throws {
        let requests = try await Self.pieceRequests(floor: 4096) { attempt in attempt == 0 ? .trickle(bytes: 100, every: 0.2) : .honest }
        #expect(requests >= 2, "piece 3 was asked for \(requests) times")
    }

    /// A slow peer above the floor, its piece taking longer than one window (64 KiB at
    /// 40 KB/s: 1.6 s of 1 s windows), keeps its piece. The floor is 512 bytes/s here, far
    /// under the peer's pace: each 8 KiB part holds a window up by itself for 16 s, so a
    /// sender the test machine starves for seconds between its parts is not taken for a
    /// trickle; a rule that dropped a piece for outlasting one window still fails here.
    @Test func slowPeerAboveTheFloorKeepsItsPiece() async throws {
        let requests = try await Self.pieceRequests(floor: 512) { _ in .trickle(bytes: 8 * 1024, every: 0.2) }
        #expect(requests == 1, "piece 3 was asked for \(requests) times")
    }

    /// Pulls (with a floor of `floor` bytes/s judged over 1 s windows) from a peer that
    /// answers piece 3's attempts as `answer` says and every other piece honestly; checks the
    /// installed bytes and returns how often piece 3 was asked for. The stall timeout (20 s)
    /// and the attempts (8) leave room for a starved machine: a piece cut here is cut by the
    /// floor, and a few cut honest answers do not fail the pull.
    static func pieceRequests(floor: Double, _ answer: @escaping @Sendable (_ attempt: Int) -> FakePeer.Answer) async throws -> Int {
        let (entry, bytes) = Self.model()
        let watched = Int64(3 * Self.pieceSize)
        let peer = FakePeer(entry: entry, bytes: bytes) { request in request.offset == watched ? answer(request.attempt) : .honest }
        var floorOfOneSecond = PullHarness.configuration(stallTimeout: 20, attempts: 8, retryDelay: 0.05)
        floorOfOneSecond.minimumBytesPerSecond = floor
        floorOfOneSecond.throughputWindowSeconds = 1
        let configuration = floorOfOneSecond
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            try await withFakePeer(peer) { url in
                try await PullHarness.withEngine(configuration, database: try StateDatabase()) { engine in
                    let result = try await withDeadline(60) {
                        try await engine.pull(PullHarness.request(entry.modelID, from: url, into: store))
                    }
                    #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == bytes)
                }
            }
        }
        return peer.log.pieces.filter { $0.offset == watched }.count
    }

    /// A piece whose first answer drops or stalls is asked again and the pull completes. At
    /// least twice, not exactly: a starved machine may delay an honest retry's answer past
    /// the stall timeout too (2 s, and 8 attempts, leave it room).
    @Test func peerThatDropsOrStallsOnceIsRetried() async throws {
        let (entry, bytes) = Self.model()
        let dropped = Int64(2 * Self.pieceSize)
        let stalled = Int64(9 * Self.pieceSize)
        let peer = FakePeer(entry: entry, bytes: bytes) { request in
            if request.offset == dropped { return request.attempt == 0 ? .dropAfter(bytes: 1000) : .honest }
            if request.offset == stalled { return request.attempt == 0 ? .stallAfter(bytes: 10) : .honest }
            return .honest
        }
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            try await withFakePeer(peer) { url in
                try await PullHarness.withEngine(
                    PullHarness.configuration(stallTimeout: 2, attempts: 8, retryDelay: 0.05), database: try StateDatabase()
                ) { engine in
                    let result = try await withDeadline(60) {
                        try await engine.pull(PullHarness.request(entry.modelID, from: url, into: store))
                    }
                    #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == bytes)
                }
            }
            let (droppedAsked, stalledAsked) = (
                peer.log.pieces.filter { $0.offset == dropped }.count, peer.log.pieces.filter { $0.offset == stalled }.count
            )
            #expect(droppedAsked >= 2, "the dropped piece was asked for \(droppedAsked) times")
            #expect(stalledAsked >= 2, "the stalled piece was asked for \(stalledAsked) times")
        }
    }

    /// The provider's file changes after the catalog was read: the pull stops with
    /// `source_changed` and installs nothing; once the provider re-indexed, a new pull gets
    /// the new version whole, never a splice of the two.
    @Test func providerFileChangedUnderThePull() async throws {
        try await withTemporaryDirectory { directory in
            let folder = directory.sub("shared")
            let source = folder + "/changing.gguf"
            let size = 2 * 1024 * 1024
            let oldSHA = try ModelFixtures.writeModel(at: source, size: size, seed: 21, header: .gguf)
            let store = LocalModelStore(directory: directory.sub("pulled"))
            let database = try StateDatabase()
            try await withMeshNode(
                stateDirectory: directory.sub("provider"), folders: [folder], configure: { $0.rescanIntervalSeconds = 3600 }
            ) { node in
                let entry = try PullHarness.onlyEntry(of: node)
                #expect(entry.sha256 == oldSHA)
                // Same size, other bytes: only the provider's stat check or the hash can tell.
                let newSHA = try ModelFixtures.writeModel(at: source + ".new", size: size, seed: 22, header: .gguf)
                try FileIO.rename(source + ".new", source)
                try await PullHarness.withEngine(database: database) { engine in
                    let outcome = await PullHarness.pull(engine, PullHarness.request(entry.modelID, from: node.baseURL, into: store))
                    #expect(outcome.failure?.code == .sourceChanged)
                    #expect(store.installed(modelID: entry.modelID) == nil)
                    #expect(!FileManager.default.fileExists(atPath: store.modelPath(for: entry)))
                    // The 409 asked the provider to re-index; wait for the new hash.
                    try await withDeadline(20) {
                        while node.node.inventory.item(modelID: entry.modelID)?.entry.sha256 != newSHA {
                            try await Task.sleep(for: .milliseconds(50))
                        }
                    }
                    let result = try await engine.pull(PullHarness.request(entry.modelID, from: node.baseURL, into: store))
                    #expect(result.entry.sha256 == newSHA)
                    #expect(result.resumedBytes == 0)
                    #expect(try ModelFixtures.sha256(of: result.path) == newSHA)
                    #expect(try Data(contentsOf: URL(fileURLWithPath: result.path)) == Data(contentsOf: URL(fileURLWithPath: source)))
                }
            }
        }
    }

    @Test func unreachablePeerNamesTheURL() async throws {
        let port = try PullHarness.closedPort()
        let url = "http://127.0.0.1:\(port)"
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            try await PullHarness.withEngine(database: try StateDatabase()) { engine in
                let outcome = try await withDeadline(20) {
                    await PullHarness.pull(engine, PullHarness.request("any-model", from: url, into: store))
                }
                let failure = try #require(outcome.failure)
                #expect(failure.code == .peerUnreachable)
                #expect(failure.exitCode == 3)
                #expect(failure.message.contains(url), "\(failure.message)")
            }
            #expect(PullHarness.files(in: store).isEmpty)
        }
    }

    /// A store on a 1 MiB tmpfs and a 4 MiB model: `storage_full` before any transfer, and
    /// nothing half-written left behind.
    @Test(.enabled(if: TinyFilesystem.canMount, "\(TinyFilesystem.skipReason)"))
    func fullDiskIsStorageFull() async throws {
        try await withTemporaryDirectory { directory in
            let mountPoint = directory.sub("tiny")
            try TinyFilesystem.mount(at: mountPoint, size: "1m")
            defer { TinyFilesystem.unmount(mountPoint) }
            let folder = directory.sub("shared")
            try ModelFixtures.writeModel(at: folder + "/big.gguf", size: 4 * 1024 * 1024, seed: 31, header: .gguf)
            let store = LocalModelStore(directory: mountPoint + "/models")
            let database = try StateDatabase()
            try await withMeshNode(stateDirectory: directory.sub("provider"), folders: [folder]) { node in
                let entry = try PullHarness.onlyEntry(of: node)
                try await PullHarness.withEngine(database: database) { engine in
                    let outcome = await PullHarness.pull(engine, PullHarness.request(entry.modelID, from: node.baseURL, into: store))
                    let failure = try #require(outcome.failure)
                    #expect(failure.code == .storageFull, "\(failure)")
                    #expect(failure.exitCode == 6)
                    #expect(failure.cancelReason == .storageFull)
                }
                #expect(store.installed(modelID: entry.modelID) == nil)
                #expect(PullHarness.partials(in: store).isEmpty, "left: \(PullHarness.files(in: store))")
                #expect(try database.download(sha256: entry.sha256) == nil)
                // The space is free again for a model that fits.
                let free = try FileManager.default.attributesOfFileSystem(forPath: mountPoint)[.systemFreeSize] as? NSNumber
                #expect((free?.intValue ?? 0) > 900 * 1024)
            }
        }
    }

    // MARK: - Helpers

    /// Pulls `fake-model` from a fake peer answering pieces with `behaviour` and checks the
    /// failure's code and message, and that nothing was installed. Returns the peer.
    @discardableResult
    func expectFailure(
        _ code: TransferError.Code, mentioning text: String,
        configuration: PullConfiguration = PullHarness.configuration(),
        _ behaviour: @escaping @Sendable (FakePeer.PieceRequest) -> FakePeer.Answer,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> FakePeer {
        let (entry, bytes) = Self.model()
        let peer = FakePeer(entry: entry, bytes: bytes, behaviour: behaviour)
        try await withTemporaryDirectory { directory in
            let store = LocalModelStore(directory: directory.sub("pulled"))
            try await withFakePeer(peer) { url in
                try await PullHarness.withEngine(configuration, database: try StateDatabase()) { engine in
                    let outcome = try await withDeadline(60) {
                        await PullHarness.pull(engine, PullHarness.request(entry.modelID, from: url, into: store))
                    }
                    let failure = try #require(outcome.failure, sourceLocation: sourceLocation)
                    #expect(failure.code == code, "\(failure)", sourceLocation: sourceLocation)
                    #expect(failure.message.contains(text), "\(failure.message)", sourceLocation: sourceLocation)
                    #expect(failure.message.contains(url), "\(failure.message)", sourceLocation: sourceLocation)
                }
            }
            #expect(store.installed(modelID: entry.modelID) == nil, sourceLocation: sourceLocation)
            #expect(!FileManager.default.fileExists(atPath: store.modelPath(for: entry)), sourceLocation: sourceLocation)
        }
        return peer
    }
}

/// A tiny tmpfs for the full-disk test: needs root and a kernel that lets us mount.
enum TinyFilesystem {
    static let probe: (ok: Bool, reason: String) = {
        guard getuid() == 0 else { return (false, "skipped: needs root to mount a tmpfs (running as uid \(getuid()))") }
        let directory = FileManager.default.temporaryDirectory.path + "/atmo-tmpfs-probe-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            try mount(at: directory, size: "64k")
            unmount(directory)
            return (true, "")
        } catch {
            return (false, "skipped: cannot mount a tmpfs here (\(error))")
        }
    }()

    static var canMount: Bool {
        if !probe.ok { print("PullFailureTests.fullDiskIsStorageFull \(probe.reason)") }
        return probe.ok
    }

    static var skipReason: String { probe.reason }

    struct MountFailure: Error, CustomStringConvertible {
        var description: String
    }

    static func mount(at path: String, size: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/mount")
        process.arguments = ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(data: errors.fileHandleForReading.readDataToEndOfFile(), encoding: .utf8) ?? ""
            throw MountFailure(description: "mount exited \(process.terminationStatus): \(text)")
        }
    }

    static func unmount(_ path: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/umount")
        process.arguments = [path]
        try? process.run()
        process.waitUntilExit()
    }
}
