import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

/// Priorities through the node's queue: the API, the library and the state database.
@Suite(.timeLimit(.minutes(2)))
struct DownloadPriorityQueueTests {
    @Test func thePriorityIsTakenByTheAPIAndTheLibraryAndKeptAcrossARestart() async throws {
        try await withTemporaryDirectory { directory in
            let state = directory.sub("b")
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            // An earlier run queued a low download; an older one a download with no priority.
            do {
                let database = try StateDatabase(path: state + "/atmo.sqlite")
                try database.saveQueuedDownload(
                    QueuedDownload(
                        requestID: "earlier-low", modelID: "low.gguf", sha256: nil, preferredNode: nil, createdAtMs: 1, priority: "low"))
                try database.saveQueuedDownload(
                    QueuedDownload(requestID: "earlier", modelID: "plain.gguf", sha256: nil, preferredNode: nil, createdAtMs: 2))
                #expect(try database.queuedDownloads().map(\.priority) == ["low", "high"])
            }
            try await withMeshNode(stateDirectory: state, folders: []) { b in
                let library = try b.node.download(modelID: "critical.gguf", priority: .critical)
                let started = try await Client.post(
                    b.baseURL + DownloadAPI.path, json: #"{"model_id": "normal.gguf", "priority": "normal"}"#)
                #expect(started.status == 202, "\(started.text)")
                let viaAPI = try JSONDecoder().decode(DownloadAPI.Started.self, from: Data(started.body)).requestID
                let plain = try await Client.post(b.baseURL + DownloadAPI.path, json: #"{"model_id": "high.gguf"}"#)
                let defaulted = try JSONDecoder().decode(DownloadAPI.Started.self, from: Data(plain.body)).requestID
                let refused = try await Client.post(b.baseURL + DownloadAPI.path, json: #"{"model_id": "x.gguf", "priority": "urgent"}"#)
                #expect(refused.status == 400, "\(refused.text)")

                let listed = try await eventually {
                    let priorities = try await Self.priorities(b)
                    return priorities.count == 5
                }
                #expect(listed)
                let priorities = try await Self.priorities(b)
                #expect(priorities[library] == .critical)
                #expect(priorities[viaAPI] == .normal)
                #expect(priorities[defaulted] == .high)
                #expect(priorities["earlier-low"] == .low)
                #expect(priorities["earlier"] == .high)
                let statuses = try await Self.statuses(b)
                #expect(statuses.allSatisfy { $0.paused == false }, "\(statuses)")
            }
        }
    }

    @Test func startsAndStatusesCarryThePriorityOnTheWire() throws {
        let start = try JSONDecoder().decode(DownloadAPI.Start.self, from: Data(#"{"model_id": "a", "priority": "low"}"#.utf8))
        #expect(start.priority == .low)
        #expect(try JSONDecoder().decode(DownloadAPI.Start.self, from: Data(#"{"model_id": "a"}"#.utf8)).priority == nil)
        var status = DownloadAPI.Status(state: .queued, requestID: "r", modelID: "a")
        status.priority = .critical
        status.paused = true
        let json = String(decoding: try JSONEncoder().encode(status), as: UTF8.self)
        #expect(json.contains(#""priority":"critical""#) && json.contains(#""paused":true"#), "\(json)")
    }

    static func statuses(_ node: RunningNode) async throws -> [DownloadAPI.Status] {
        let answer = try await Client.get(node.baseURL + DownloadAPI.path)
        return try JSONDecoder().decode(DownloadAPI.StatusList.self, from: Data(answer.body)).downloads
    }

    static func priorities(_ node: RunningNode) async throws -> [String: DownloadPriority] {
        var found: [String: DownloadPriority] = [:]
        for status in try await statuses(node) { found[status.requestID] = status.priority }
        return found
    }
}
