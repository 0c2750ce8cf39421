import AtmoNode
import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `atmo pull` following a download of the running node reads `node.json` again when
/// nothing answers at the node's address: a node restarted on another port is followed
/// there; a file that leads to no node (gone, stale, malformed, another node, no node at
/// all) ends the pull with what to do, within the follower's bounded retries.
@Suite(.timeLimit(.minutes(2)))
struct PullFollowNodeFileTests {
    static let modelID = "delta.gguf"
    static let requestID = "r-follow"
    static let sha256 = String(repeating: "cd", count: 32)

    /// The first node: lists the download running and sends its status on each stream,
    /// which it then ends; `streams` counts the streams asked for.
    static func runningNode(stateDirectory: String, streams: Shared<Int>) async throws -> ScriptedLocalNode {
        let entry = ModelEntry(
            modelID: modelID, name: "delta", type: "llm", format: "gguf", sizeBytes: 1000, sha256: sha256)
        let provider = MeshAPI.Provider(nodeID: "peer-1", nodeName: "peer", http: "http://127.0.0.1:9", transports: ["http"])
        let running = DownloadAPI.Status(
            state: .downloading, requestID: requestID, modelID: modelID, sha256: sha256, bytesDone: 100, totalBytes: 1000)
        return try await ScriptedLocalNode(stateDirectory: stateDirectory) { method, path in
            switch (method, path) {
            case ("GET", MeshAPI.modelsPath + "/" + modelID):
                return .json(MeshAPI.ModelList(models: [MeshAPI.Model(entry: entry, providers: [provider], installed: false)]))
            case ("POST", DownloadAPI.path): return .json(DownloadAPI.Started(requestID: requestID), status: 202)
            case ("GET", DownloadAPI.path): return .json(DownloadAPI.StatusList(downloads: [running]))
            case ("GET", DownloadAPI.eventsPath):
                _ = streams.exchange(streams.value + 1)
                return .downloadEvents([running])
            default: return nil
            }
        }
    }

    /// Starts `atmo pull` through the node of `state` and waits until it follows the download.
    static func startFollowing(_ sandbox: AtmoSandbox, state: String, streams: Shared<Int>) async throws -> AtmoProcess {
        let pull = try sandbox.start(["pull", modelID, "--state-dir", state, "--json"], name: "pull")
        let deadline = Date().addingTimeInterval(90)
        while streams.value == 0 {
            guard pull.isRunning, Date() < deadline else {
                throw ProcessFailure(message: "the pull did not follow the download: \(pull.standardError)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return pull
    }

    @Test("atmo pull follows the node to the address node.json names after a restart")
    func aNodeRestartedElsewhereIsFollowedThere() async throws {
        try await withAtmoSandbox(prefix: "atmo-follow") { sandbox in
            let state = sandbox.path("node")
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            let streams = Shared(0)
            let first = try await Self.runningNode(stateDirectory: state, streams: streams)
            var second: ScriptedLocalNode? = nil
            do {
                let pull = try await Self.startFollowing(sandbox, state: state, streams: streams)
                await first.stop()
                // The node again, on another port (its node.json says which): the download is done there.
                var completed = DownloadAPI.Status(
                    state: .completed, requestID: Self.requestID, modelID: Self.modelID, sha256: Self.sha256, bytesDone: 1000,
                    totalBytes: 1000, path: state + "/models/" + Self.modelID)
                completed.bytesTransferred = 1000
                let done = completed
                second = try await ScriptedLocalNode(stateDirectory: state) { method, path in
                    switch (method, path) {
                    case ("GET", DownloadAPI.path): return .json(DownloadAPI.StatusList(downloads: [done]))
                    case ("GET", DownloadAPI.eventsPath): return .downloadEvents([done])
                    default: return nil
                    }
                }
                #expect(second?.port != first.port)
                #expect(await pull.waitForExit(timeout: 60) == 0, "\(pull.standardError)")
                #expect(PullOutput(pull).result?.sha256 == Self.sha256, "\(pull.standardOutputLines.suffix(2))")
            } catch {
                await first.stop()
                await second?.stop()
                throw error
            }
            await second?.stop()
        }
    }

    /// What `node.json` holds once the node stopped answering.
    enum NodeFile: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case removed, malformed, wrongTypes, anotherNode, nothingListening, notHTTP
        var testDescription: String { rawValue }
    }

    @Test("atmo pull whose node stops ends with what to do when node.json leads to no node", arguments: NodeFile.allCases)
    func aNodeFileLeadingNowhereEndsThePullClearly(_ kind: NodeFile) async throws {
        try await withAtmoSandbox(prefix: "atmo-follow") { sandbox in
            let state = sandbox.path("node")
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            let streams = Shared(0)
            let node = try await Self.runningNode(stateDirectory: state, streams: streams)
            var other: ScriptedLocalNode? = nil
            do {
                let pull = try await Self.startFollowing(sandbox, state: state, streams: streams)
                await node.stop()
                let path = LocalNodeFile.path(stateDirectory: state)
                let pid = getpid()  // alive: only the address can tell
                switch kind {
                case .removed: try FileManager.default.removeItem(atPath: path)
                case .malformed: try Data("{\"pid\": \(pid), \"base_url\": \"http://127.0.0.1:".utf8).write(to: URL(fileURLWithPath: path))
                case .wrongTypes:
                    try Data("{\"pid\": \"\(pid)\", \"base_url\": 7, \"node_id\": [], \"started_at\": {}}".utf8).write(
                        to: URL(fileURLWithPath: path))
                case .anotherNode:
                    let elsewhere = sandbox.path("elsewhere")
                    try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
                    let server = try await ScriptedLocalNode(stateDirectory: elsewhere) { _, _ in nil }
                    other = server
                    var file = LocalNodeFile(host: "127.0.0.1", port: server.port, nodeID: "not-the-scripted-one")
                    file.pid = pid
                    try file.write(stateDirectory: state)
                case .nothingListening:
                    try LocalNodeFile(host: "127.0.0.1", port: try HTTPProbe.unusedPort(), nodeID: node.nodeID).write(stateDirectory: state)
                case .notHTTP:
                    var file = LocalNodeFile(host: "127.0.0.1", port: 1, nodeID: node.nodeID)
                    file.baseURL = "unix:///tmp/\u{1B}[2Jnot-a-node.sock"
                    try file.write(stateDirectory: state)
                }
                // 3: the local node cannot be reached (as before node.json was read again).
                #expect(await pull.waitForExit(timeout: 90) == 3, "\(pull.standardError)")
                let said = pull.standardError
                #expect(said.contains("start it again with `atmo serve`"), "\(said)")
                #expect(PullOutput(pull).error?.code == "no_node", "\(pull.standardOutputLines.suffix(2))")
                let why: String
                switch kind {
                case .removed: why = "no node runs on \(state)"
                case .malformed, .wrongTypes: why = "names no running node"
                case .anotherNode: why = "is another node"
                case .nothingListening: why = "does not answer as a node"
                case .notHTTP: why = "is not an http URL"
                }
                #expect(said.contains(why), "\(said)")
                #expect(!said.contains("\u{1B}"), "nothing of the file reaches the terminal as control characters")
            } catch {
                await node.stop()
                await other?.stop()
                throw error
            }
            await other?.stop()
        }
    }
}
