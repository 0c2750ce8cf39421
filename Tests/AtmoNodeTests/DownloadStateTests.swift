import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Logging
import Testing

/// The states of the node's downloads as each layer shows them: the library tells `queued`
/// from `waiting`, the CLI prints each state by its name, a newer node's state is shown as
/// unknown instead of breaking a command.
@Suite(.timeLimit(.minutes(2)))
struct DownloadStateTests {
    /// A download an earlier run queued, of a model nobody offers: `queued` when restored,
    /// then `waiting` for a provider; the library, the HTTP API and `atmo downloads` agree.
    @Test func aRestoredDownloadIsQueuedThenWaitingInEveryLayer() async throws {
        try await withAtmoSandbox(prefix: "atmo-states") { sandbox in
            let state = sandbox.path("b")
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            do {
                let database = try StateDatabase(path: state + "/atmo.sqlite")
                try database.saveQueuedDownload(
                    QueuedDownload(requestID: "restored-1", modelID: "delta.gguf", sha256: nil, preferredNode: nil, createdAtMs: 1))
            }
            var configuration = NodeConfiguration(
                stateDirectory: state, modelsDirectory: state + "/models", scanRoots: ScanRoots(extraFolders: []))
            configuration.host = "127.0.0.1"
            configuration.port = 0
            configuration.mesh.lanDiscovery = false
            let node = try MeshNode(configuration: configuration, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
            // Subscribed before the node runs: every state the download goes through.
            let updates = node.downloadUpdates
            let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await node.run(gracefulShutdownSignals: []) { portSink.yield($0) } }
                var states: [DownloadState] = []
                for await update in updates where update.requestID == "restored-1" {
                    states.append(update.state)
                    if update.state == .waiting || update.state.isFinal { break }
                }
                #expect(states.first == .queued, "\(states)")
                #expect(states.last == .waiting, "\(states)")
                #expect(states.last?.wireState == .waiting)

                var portIterator = ports.makeAsyncIterator()
                let port = try #require(await portIterator.next())
                let answer = try await Client.get("http://127.0.0.1:\(port)" + DownloadAPI.path)
                let list = try JSONDecoder().decode(DownloadAPI.StatusList.self, from: Data(answer.body))
                #expect(list.downloads.first { $0.requestID == "restored-1" }?.state == .waiting)

                let shown = try await sandbox.run(["downloads", "--state-dir", state], name: "downloads")
                #expect(shown.status == 0, "\(shown.stderr)")
                let row = shown.stdout.split(separator: "\n").first { $0.contains("delta.gguf") }.map(String.init) ?? ""
                #expect(row.split(separator: " ").contains("waiting"), "\(shown.stdout)")

                #expect(node.cancel(requestID: "restored-1"))
                for await update in node.downloadUpdates where update.requestID == "restored-1" && update.state.isFinal {
                    #expect(update.state == .cancelled)
                    break
                }
                group.cancelAll()
            }
        }
    }

    /// Statuses only a node can be made to send at will: one held in the queue, one waiting,
    /// one in a state of a newer version. `atmo downloads` prints each by name; `atmo pull`
    /// following the download says what it waits for, and exits as its failure says.
    @Test func theCommandsPrintQueuedWaitingAndUnknownStates() async throws {
        try await withAtmoSandbox(prefix: "atmo-states") { sandbox in
            let state = sandbox.path("scripted")
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            let statuses: [DownloadAPI.Status] = [
                DownloadAPI.Status(state: .queued, requestID: "r-queued", modelID: "one.gguf"),
                DownloadAPI.Status(state: .waiting, requestID: "r-waiting", modelID: "two.gguf"),
                DownloadAPI.Status(state: DownloadAPI.State(wireName: "paused_for_battery"), requestID: "r-new", modelID: "three.gguf"),
            ]
            var failed = DownloadAPI.Status(state: .failed, requestID: "r-pull", modelID: "delta.gguf")
            failed.error = "no node of the mesh offers delta.gguf"
            failed.errorCode = "not_offered"
            let followed = [
                DownloadAPI.Status(state: .queued, requestID: "r-pull", modelID: "delta.gguf"),
                DownloadAPI.Status(state: .waiting, requestID: "r-pull", modelID: "delta.gguf"),
                DownloadAPI.Status(state: DownloadAPI.State(wireName: "paused_for_battery"), requestID: "r-pull", modelID: "delta.gguf"),
                failed,
            ]
            let entry = ModelEntry(
                modelID: "delta.gguf", name: "delta", type: "llm", format: "gguf", sizeBytes: 1000,
                sha256: String(repeating: "ab", count: 32))
            let provider = MeshAPI.Provider(nodeID: "peer-1", nodeName: "peer", http: "http://127.0.0.1:9", transports: ["http"])
            let node = try await ScriptedLocalNode(stateDirectory: state) { method, path in
                switch (method, path) {
                case ("GET", DownloadAPI.path): return .json(DownloadAPI.StatusList(downloads: statuses))
                case ("GET", MeshAPI.modelsPath + "/delta.gguf"):
                    return .json(MeshAPI.ModelList(models: [MeshAPI.Model(entry: entry, providers: [provider], installed: false)]))
                case ("POST", DownloadAPI.path): return .json(DownloadAPI.Started(requestID: "r-pull"), status: 202)
                case ("GET", DownloadAPI.eventsPath): return .downloadEvents(followed)
                default: return nil
                }
            }
            do {

                let table = try await sandbox.run(["downloads", "--state-dir", state], name: "downloads")
                #expect(table.status == 0, "\(table.stderr)")
                let rows = table.stdout.split(separator: "\n").map(String.init)
                #expect(rows.contains { $0.contains("one.gguf") && $0.contains(" queued ") }, "\(table.stdout)")
                #expect(rows.contains { $0.contains("two.gguf") && $0.contains(" waiting ") }, "\(table.stdout)")
                #expect(rows.contains { $0.contains("three.gguf") && $0.contains("paused_for_battery (unknown state)") }, "\(table.stdout)")

                let json = try await sandbox.run(["downloads", "--state-dir", state, "--json"], name: "downloads-json")
                let decoded = try JSONDecoder().decode(DownloadAPI.StatusList.self, from: Data(json.stdout.utf8))
                #expect(decoded.downloads.map(\.state.wireName) == ["queued", "waiting", "paused_for_battery"])

                let pull = try await sandbox.run(["pull", "delta.gguf", "--state-dir", state], name: "pull")
                #expect(pull.status == 4, "\(pull.stderr)")
                #expect(pull.stderr.contains("delta.gguf: queued"), "\(pull.stderr)")
                #expect(pull.stderr.contains("delta.gguf: waiting for a node of the mesh to offer it again"), "\(pull.stderr)")
                #expect(pull.stderr.contains("'paused_for_battery', a state this version of atmo does not know"), "\(pull.stderr)")
                #expect(pull.stderr.contains("no node of the mesh offers delta.gguf"), "\(pull.stderr)")
            } catch {
                await node.stop()
                throw error
            }
            await node.stop()
        }
    }
}
