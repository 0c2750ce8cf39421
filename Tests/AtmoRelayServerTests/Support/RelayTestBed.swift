import AsyncHTTPClient
import AtmoProtocol
import AtmoRelay
import AtmoRelayServer
import AtmoStore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A relay running in this process on `127.0.0.1` and a port the system chose, with the
/// test peers connected to it (closed when the test ends).
final class RelayTestBed: Sendable {
    let port: Int
    let server: RelayServer
    private let peers = Mutex<[TestPeer]>([])

    init(port: Int, server: RelayServer) {
        self.port = port
        self.server = server
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    func url(meshID: String) -> String { "ws://127.0.0.1:\(port)/relay/\(meshID)" }

    /// Connects a peer to `/relay/{meshID}` (it sends nothing yet).
    func connect(_ name: String, meshID: String, reading: Bool = true) -> TestPeer {
        let peer = TestPeer(url: url(meshID: meshID), name: name, reading: reading, logger: testLogger)
        peers.withLock { $0.append(peer) }
        return peer
    }

    /// Closes every peer still connected.
    func closePeers() async {
        for peer in peers.withLock({ $0 }) { await peer.close() }
    }

    /// `GET path`: the status and the body.
    func get(_ path: String) async throws -> (status: Int, body: Data) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: baseURL + path), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), Data(body.readableBytesView))
    }

    /// `GET /stats`, decoded.
    func stats() async throws -> RelayStatsReport {
        try JSONDecoder().decode(RelayStatsReport.self, from: try await get("/stats").body)
    }
}

/// Logs of the servers and clients under test: silent unless `ATMO_TEST_LOG` names a level.
let testLogger: Logger = {
    let level = ProcessInfo.processInfo.environment["ATMO_TEST_LOG"].flatMap(Logger.Level.init(rawValue:))
    var logger = Logger(label: "atmo.relay.test") { label -> any LogHandler in
        level == nil ? SwiftLogNoOpLogHandler() : StreamLogHandler.standardError(label: label)
    }
    logger.logLevel = level ?? .critical
    return logger
}()

/// Runs a relay on `127.0.0.1:0` keeping its state in `stateDirectory` (a fresh temporary
/// one when nil), runs `body`, then closes the test peers and shuts the relay down
/// gracefully, whatever `body` did.
@discardableResult
func withRelay<T: Sendable>(
    stateDirectory: String? = nil, configure: (inout RelayServerConfiguration) -> Void = { _ in },
    _ body: @Sendable (RelayTestBed) async throws -> T
) async throws -> T {
    let temporary = stateDirectory == nil ? try TestDirectory() : nil
    defer { temporary?.remove() }
    var configuration = RelayServerConfiguration(
        host: "127.0.0.1", port: 0, stateDirectory: stateDirectory ?? temporary!.path, closeTimeout: .seconds(5))
    configure(&configuration)
    let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
    let server = try RelayServer(configuration: configuration, logger: testLogger) { port in portContinuation.yield(port) }
    let group = ServiceGroup(services: [server], gracefulShutdownSignals: [], logger: testLogger)
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask {
            defer { portContinuation.finish() }
            try await group.run()
        }
        guard let port = await ports.first(where: { _ in true }) else {
            try await tasks.waitForAll()  // the server failed to start: its error
            throw RelayTestError("the relay stopped before listening")
        }
        let bed = RelayTestBed(port: port, server: server)
        let result: Result<T, any Error>
        do {
            result = .success(try await body(bed))
        } catch {
            result = .failure(error)
        }
        await bed.closePeers()
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return try result.get()
    }
}

struct RelayTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A fresh folder under the system temp dir.
struct TestDirectory: Sendable {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.path + "/atmo-relay-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Messages of the relay protocol for tests, with real Ed25519 keys.
enum Wire {
    static func register(
        _ keys: MeshKeys, nodeID: String = "founder", capabilities: [String] = ["participant"], meshID: String? = nil
    ) throws -> RelayMessage {
        let meshID = meshID ?? keys.meshID
        return .registerMesh(
            RelayRegisterMesh(
                meshID: meshID, meshPublicKey: keys.publicKey.rawRepresentation, founderProof: try keys.founderProof(meshID: meshID),
                nodeID: nodeID, name: nodeID, displayName: "\(nodeID) display", capabilities: capabilities))
    }

    static func join(_ nodeID: String, token: MeshToken? = nil, capabilities: [String] = ["participant"]) -> RelayMessage {
        .join(RelayJoin(nodeID: nodeID, token: token, capabilities: capabilities, name: nodeID))
    }

    static func token(_ keys: MeshKeys, for nodeID: String?, issuedSecondsAgo: Int64 = 0, lifetime: Int64 = 3_600) throws
        -> MeshToken
    {
        let now = Int64(Date().timeIntervalSince1970) - issuedSecondsAgo
        return try keys.issueToken(nodeID: nodeID, issuerID: "founder", lifetime: lifetime, now: now)
    }
}

extension TestPeer {
    /// Registers `keys`' mesh as its founder; returns once `mesh_registered`, `joined` and
    /// `peers` arrived (the `joined` is returned).
    @discardableResult
    func registerAsFounder(_ keys: MeshKeys, nodeID: String = "founder", capabilities: [String] = ["participant"])
        async throws -> RelayJoined
    {
        try send(Wire.register(keys, nodeID: nodeID, capabilities: capabilities))
        guard case .meshRegistered(let registered) = try await nextMessage(), registered.success else {
            throw RelayTestError("\(name): no mesh_registered")
        }
        return try await expectJoined()
    }

    /// Joins with `token`; returns once `joined` and `peers` arrived.
    @discardableResult
    func join(as nodeID: String, token: MeshToken?, capabilities: [String] = ["participant"]) async throws -> RelayJoined {
        try send(Wire.join(nodeID, token: token, capabilities: capabilities))
        return try await expectJoined()
    }

    private func expectJoined() async throws -> RelayJoined {
        guard case .joined(let joined) = try await nextMessage() else { throw RelayTestError("\(name): no joined") }
        guard case .peers = try await nextMessage() else { throw RelayTestError("\(name): no peers after joined") }
        return joined
    }
}
