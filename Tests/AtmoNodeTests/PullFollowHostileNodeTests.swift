import AtmoNode
import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

/// `atmo pull` following a download of the node its `node.json` names, when what answers
/// there misbehaves: another node's id, addresses that point at each other, redirects,
/// refusals carrying control characters. The follow ends with exit 3 and printable text.
@Suite(.timeLimit(.minutes(2)))
struct PullFollowHostileNodeTests {
    typealias Base = PullFollowNodeFileTests
    static let escapes = "\u{1B}]0;PWNED\u{07}\u{1B}[2J\u{1B}[31mRED\r\u{1B}[Kfake"

    static var running: DownloadAPI.Status {
        DownloadAPI.Status(
            state: .downloading, requestID: Base.requestID, modelID: Base.modelID, sha256: Base.sha256, bytesDone: 100, totalBytes: 1000)
    }

    static var completed: DownloadAPI.Status {
        var status = DownloadAPI.Status(
            state: .completed, requestID: Base.requestID, modelID: Base.modelID, sha256: Base.sha256, bytesDone: 1000,
            totalBytes: 1000, path: "/nonexistent/" + Base.modelID)
        status.bytesTransferred = 1000
        return status
    }

    /// A node that starts the download, lists it running, and answers its event stream with `events`.
    static func node(
        stateDirectory: String, nodeID: String = "scripted-node-0001", streams: Shared<Int>,
        events: @escaping @Sendable () -> ScriptedLocalNode.Answer
    ) async throws -> ScriptedLocalNode {
        let entry = ModelEntry(
            modelID: Base.modelID, name: "delta", type: "llm", format: "gguf", sizeBytes: 1000, sha256: Base.sha256)
        let provider = MeshAPI.Provider(nodeID: "peer-1", nodeName: "peer", http: "http://127.0.0.1:9", transports: ["http"])
        return try await ScriptedLocalNode(stateDirectory: stateDirectory, nodeID: nodeID) { method, path in
            switch (method, path) {
            case ("GET", MeshAPI.modelsPath + "/" + Base.modelID):
                return .json(MeshAPI.ModelList(models: [MeshAPI.Model(entry: entry, providers: [provider], installed: false)]))
            case ("POST", DownloadAPI.path): return .json(DownloadAPI.Started(requestID: Base.requestID), status: 202)
            case ("GET", DownloadAPI.path): return .json(DownloadAPI.StatusList(downloads: [running]))
            case ("GET", DownloadAPI.eventsPath):
                _ = streams.exchange(streams.value + 1)
                return events()
            default: return nil
            }
        }
    }

    static func state(_ sandbox: AtmoSandbox, _ name: String = "node") throws -> String {
        let state = sandbox.path(name)
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        return state
    }

    @Test("atmo pull does not follow node.json to a node of another id, whatever it says of the download")
    func anotherNodesIDIsNoNode() async throws {
        try await withAtmoSandbox(prefix: "atmo-follow") { sandbox in
            let state = try Self.state(sandbox)
            let streams = Shared(0)
            let first = try await Base.runningNode(stateDirectory: state, streams: streams)
            var impostor: ScriptedLocalNode? = nil
            do {
                let pull = try await Base.startFollowing(sandbox, state: state, streams: streams)
                await first.stop()
                // Another node (another state folder's key) that knows the request id and says it is done.
                let done = Self.completed
                impostor = try await ScriptedLocalNode(stateDirectory: state, nodeID: "impostor-id") { method, path in
                    switch (method, path) {
                    case ("GET", DownloadAPI.path): return .json(DownloadAPI.StatusList(downloads: [done]))
                    case ("GET", DownloadAPI.eventsPath): return .downloadEvents([done])
                    default: return nil
                    }
                }
                #expect(await pull.waitForExit(timeout: 90) == 3, "\(pull.standardError)")
                #expect(pull.standardError.contains("is another node"), "\(pull.standardError)")
                #expect(!pull.standardOutput.contains("/nonexistent/"), "\(pull.standardOutput)")
            } catch {
                await first.stop()
                await impostor?.stop()
                throw error
            }
            await impostor?.stop()
        }
    }

    @Test("atmo pull gives up on two addresses that send the download's status and point node.json at each other")
    func addressesPointingAtEachOtherEndTheFollow() async throws {
        try await withAtmoSandbox(prefix: "atmo-follow") { sandbox in
            let state = try Self.state(sandbox)
            let streams = Shared(0)
            let first = try await Base.runningNode(stateDirectory: state, streams: streams)
            let ports = Shared<[Int]>([])
            var pair: [ScriptedLocalNode] = []
            do {
                let pull = try await Base.startFollowing(sandbox, state: state, streams: streams)
                let running = Self.running
                // Both addresses know each other before the first node goes (a loaded CI reached
                // the first of the pair before it knew the second: "no longer lists" instead).
                for index in 0..<2 {
                    // Same id as the first node: each sends one status, lists nothing and names the other.
                    pair.append(
                        try await ScriptedLocalNode(stateDirectory: state) { method, path in
                            switch (method, path) {
                            case ("GET", DownloadAPI.eventsPath): return .downloadEvents([running])
                            case ("GET", DownloadAPI.path):
                                if ports.value.count == 2 {
                                    try? LocalNodeFile(host: "127.0.0.1", port: ports.value[1 - index], nodeID: "scripted-node-0001")
                                        .write(stateDirectory: state)
                                }
                                return .json(DownloadAPI.StatusList(downloads: []))
                            default: return nil
                            }
                        })
                }
                _ = ports.exchange(pair.map(\.port))
                await first.stop()
                #expect(await pull.waitForExit(timeout: 90) == 3, "\(pull.standardError)")
                #expect(pull.standardError.contains("named a new address of the node 9 times"), "\(pull.standardError)")
            } catch {
                await first.stop()
                for node in pair { await node.stop() }
                throw error
            }
            for node in pair { await node.stop() }
        }
    }

    @Test("atmo pull prints a node's refusal as text, with the number of streams that ended")
    func refusalsArePrintedAsText() async throws {
        try await withAtmoSandbox(prefix: "atmo-follow") { sandbox in
            let state = try Self.state(sandbox)
            let streams = Shared(0)
            let refusal = ScriptedLocalNode.Answer.json(HTTPAPI.ErrorBody(error: "busy", code: "too_many " + Self.escapes), status: 503)
            let node = try await Self.node(stateDirectory: state, streams: streams) { refusal }
            do {
                let pull = try await Base.startFollowing(sandbox, state: state, streams: streams)
                #expect(await pull.waitForExit(timeout: 90) == 3, "\(pull.standardError)")
                let said = pull.standardError
                #expect(said.contains("too_many ?]0;PWNED??[2J"), "\(said)")
                #expect(!said.contains("\u{1B}") && !said.contains("\r") && !said.contains("\u{07}"), "\(said)")
            } catch {
                await node.stop()
                throw error
            }
            await node.stop()
        }
    }

    @Test("atmo pull's give-up says how many streams ended in a row")
    func theGiveUpCountsTheStreams() async throws {
        try await withAtmoSandbox(prefix: "atmo-follow") { sandbox in
            let state = try Self.state(sandbox)
            let streams = Shared(0)
            let refusal = ScriptedLocalNode.Answer.json(HTTPAPI.ErrorBody(error: "busy", code: "too_many_streams"), status: 503)
            let node = try await Self.node(stateDirectory: state, streams: streams) { refusal }
            do {
                let pull = try await Base.startFollowing(sandbox, state: state, streams: streams)
                #expect(await pull.waitForExit(timeout: 90) == 3, "\(pull.standardError)")
                #expect(pull.standardError.contains("ended \(streams.value) times in a row"), "\(streams.value): \(pull.standardError)")
            } catch {
                await node.stop()
                throw error
            }
            await node.stop()
        }
    }

    @Test("atmo pull does not follow a redirect of the node's event stream")
    func redirectsAreNotFollowed() async throws {
        try await withAtmoSandbox(prefix: "atmo-follow") { sandbox in
            let state = try Self.state(sandbox)
            let done = Self.completed
            let elsewhere = try await ScriptedLocalNode(stateDirectory: try Self.state(sandbox, "elsewhere"), nodeID: "elsewhere-id") {
                method, path in
                method == "GET" && path == DownloadAPI.eventsPath ? .downloadEvents([done]) : nil
            }
            let streams = Shared(0)
            let redirect = ScriptedLocalNode.Answer(
                status: 302, contentType: "text/plain", body: Data(),
                headers: ["Location": "http://127.0.0.1:\(elsewhere.port)\(DownloadAPI.eventsPath)"])
            var node: ScriptedLocalNode? = nil
            do {
                node = try await Self.node(stateDirectory: state, streams: streams) { redirect }
                let pull = try await Base.startFollowing(sandbox, state: state, streams: streams)
                #expect(await pull.waitForExit(timeout: 90) == 3, "\(pull.standardError)")
                #expect(!pull.standardOutput.contains("/nonexistent/"), "\(pull.standardOutput)")
            } catch {
                await node?.stop()
                await elsewhere.stop()
                throw error
            }
            await node?.stop()
            await elsewhere.stop()
        }
    }

    @Test("atmo pull reads the node's stream past a line over 1 MiB and a flood of empty lines")
    func overlongLinesAndNewlinesAreSkipped() async throws {
        try await withAtmoSandbox(prefix: "atmo-follow") { sandbox in
            let state = try Self.state(sandbox)
            let streams = Shared(0)
            let json = { (status: DownloadAPI.Status) in String(decoding: (try? WireCoding.encode(status)) ?? Data(), as: UTF8.self) }
            var wrong = Self.completed
            wrong.path = "/inside-the-long-line/" + Base.modelID
            // A 1.5 MiB line (with a status of ours inside it: not a line of its own), 256 KiB of
            // newlines, then the download's end.
            var body = "event: download\ndata: " + String(repeating: "x", count: 3 << 19) + "data: " + json(wrong) + "\n"
            body += String(repeating: "\n", count: 1 << 18)
            body += "event: download\ndata: " + json(Self.completed) + "\n\n"
            let stream = ScriptedLocalNode.Answer(contentType: "text/event-stream", body: Data(body.utf8))
            let node = try await Self.node(stateDirectory: state, streams: streams) { stream }
            do {
                let pull = try sandbox.start(["pull", Base.modelID, "--state-dir", state, "--json"], name: "pull")
                #expect(await pull.waitForExit(timeout: 90) == 0, "\(pull.standardError)")
                #expect(PullOutput(pull).result?.path == "/nonexistent/" + Base.modelID, "\(pull.standardOutputLines.suffix(2))")
            } catch {
                await node.stop()
                throw error
            }
            await node.stop()
        }
    }
}
