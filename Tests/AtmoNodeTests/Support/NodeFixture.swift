import AsyncHTTPClient
import AtmoNode
import AtmoTesting
import Foundation
import NIOCore
import Testing

/// The model files most tests serve, in one extra folder of a fresh temporary directory.
struct NodeFixture: Sendable {
    /// A small GGUF whose id already ends in its format: `tiny.gguf`.
    static let tinyID = "tiny.gguf"
    static let tinySize = 10_000
    /// A GGUF file without an extension: id `weights`, download name `weights.gguf`.
    static let weightsID = "weights"
    static let weightsSize = 3_000

    let directory: TemporaryDirectory
    var modelsFolder: String { directory.sub("models") }
    var stateFolder: String { directory.sub("state") }

    func path(_ name: String) -> String { modelsFolder + "/" + name }

    func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }

    /// Writes `tiny.gguf` and `weights` (plus `extra` files of the given sizes).
    static func make(extra: [(name: String, size: Int)] = []) throws -> NodeFixture {
        let fixture = NodeFixture(directory: try TemporaryDirectory(prefix: "atmo-node-test"))
        try FileManager.default.createDirectory(atPath: fixture.stateFolder, withIntermediateDirectories: true)
        try ModelFixtures.writeModel(at: fixture.path(tinyID), size: tinySize, seed: 7, header: .gguf)
        try ModelFixtures.writeModel(at: fixture.path(weightsID), size: weightsSize, seed: 9, header: .gguf)
        for (index, file) in extra.enumerated() {
            try ModelFixtures.writeModel(at: fixture.path(file.name), size: file.size, seed: UInt64(100 + index), header: .gguf)
        }
        return fixture
    }
}

/// Runs `body` against a provider serving a fresh fixture; removes everything afterwards.
func withFixtureNode<T: Sendable>(
    extra: [(name: String, size: Int)] = [],
    configure: (inout NodeConfiguration) -> Void = { _ in },
    _ body: @Sendable (RunningNode, NodeFixture) async throws -> T
) async throws -> T {
    let fixture = try NodeFixture.make(extra: extra)
    defer { fixture.directory.remove() }
    return try await withMeshNode(
        stateDirectory: fixture.stateFolder, folders: [fixture.modelsFolder], configure: configure
    ) { node in
        try await body(node, fixture)
    }
}

/// Ordinary requests through AsyncHTTPClient.
enum Client {
    struct Answer: Sendable {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: [UInt8]

        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        }

        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// `timeout` bounds the whole exchange, body included. It is a guard against a hang, not
    /// a speed bound: tests move several MB through here, and a loaded CI took 39.8 s to read
    /// a 1.2 MB answer (HubUpstreamBoundsTests hit a 30 s deadline so).
    static func send(
        _ url: String, method: String = "GET", headers: [(String, String)] = [], body: [UInt8]? = nil,
        maxBytes: Int = 64 << 20, timeout: Duration = .seconds(120)
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        switch method {
        case "POST": request.method = .POST
        case "PUT": request.method = .PUT
        case "DELETE": request.method = .DELETE
        case "HEAD": request.method = .HEAD
        default: request.method = .GET
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        let response = try await HTTPClient.shared.execute(request, timeout: TimeAmount(timeout))
        let buffer = try await response.body.collect(upTo: maxBytes)
        return Answer(
            status: Int(response.status.code),
            headers: response.headers.map { ($0.name, $0.value) },
            body: Array(buffer.readableBytesView))
    }

    static func get(_ url: String, headers: [(String, String)] = []) async throws -> Answer {
        try await send(url, headers: headers)
    }

    static func post(_ url: String, json: String) async throws -> Answer {
        try await send(url, method: "POST", body: Array(json.utf8))
    }

    /// `GET url` decoded as a JSON object (fails the test when it is not one).
    static func json(_ url: String) async throws -> [String: Any] {
        let answer = try await get(url)
        return try #require(answer.json, "not a JSON object: \(answer.text)")
    }
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes; returns whether it held.
/// The default is generous (a guard against a hang, not a speed bound): a loaded CI starts
/// ~1,400 tests at once on 2 cores, and trivial ones took 19 s there.
func eventually(timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

/// Overwrites a file in place (same inode, new content and mtime).
func overwriteInPlace(_ path: String, with bytes: [UInt8]) throws {
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.truncate(atOffset: 0)
    try handle.write(contentsOf: bytes)
}
