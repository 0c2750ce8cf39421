import AsyncHTTPClient
import AtmoNode
import AtmoProtocol
import AtmoStore
import AtmoTesting
import Foundation
import Testing

/// Final downloads stay listed (`GET /v1/downloads` and the events' first burst): the last
/// `DownloadAPI.historyLimit`, kept across restarts.
@Suite(.timeLimit(.minutes(3)))
struct DownloadHistoryTests {
    @Test func finalDownloadsSurviveARestartAndOnlyTheLastHundredAreKept() async throws {
        try await withTemporaryDirectory { directory in
            let state = directory.sub("b")
            let count = DownloadAPI.historyLimit + 5
            let ids = try await withMeshNode(stateDirectory: state, folders: []) {
                $0.waitForProvidersSeconds = 0.05
            } _: { b in
                // Downloads of models nobody offers: each fails once the wait is over.
                var ids: [String] = []
                for index in 0..<count { ids.append(try b.node.download(modelID: "missing-\(index).gguf")) }
                let ended = try await eventually(timeout: .seconds(60)) {
                    let listed = try await DownloadPauseTests.statuses(b)
                    return listed.count == DownloadAPI.historyLimit && listed.allSatisfy(\.isFinal)
                }
                let listed = try await DownloadPauseTests.statuses(b)
                try #require(ended, "\(listed.count) listed, \(listed.filter { !$0.isFinal }.count) not final")
                #expect(Set(listed.map(\.requestID)).isSubset(of: Set(ids)))
                return listed.map(\.requestID)
            }
            // Bounded on disk too.
            let saved = try StateDatabase(path: state + "/atmo.sqlite").downloadHistory()
            #expect(saved.count == DownloadAPI.historyLimit)

            try await withMeshNode(stateDirectory: state, folders: []) { b in
                let listed = try await DownloadPauseTests.statuses(b)
                #expect(listed.map(\.requestID) == ids, "the same 100, in the same order")
                #expect(
                    listed.allSatisfy { $0.state == .failed && $0.errorCode == "not_offered" && $0.error != nil }, "\(listed.prefix(2))")
                #expect(listed.allSatisfy { $0.finishedAt != nil })
                // The events stream starts with them too.
                let burst = try await Self.firstEvents(b.baseURL + DownloadAPI.eventsPath, count: DownloadAPI.historyLimit)
                #expect(burst.map(\.requestID) == listed.map(\.requestID))
            }
        }
    }

    @Test func aCancelledDownloadIsKeptAcrossARestart() async throws {
        try await withTemporaryDirectory { directory in
            let state = directory.sub("b")
            let id = try await withMeshNode(stateDirectory: state, folders: []) { b in
                let id = try b.node.download(modelID: "never-offered.gguf")
                let answer = try await Client.send(b.baseURL + DownloadAPI.path + "/" + id, method: "DELETE")
                #expect(answer.status == 200, "\(answer.text)")
                return id
            }
            try await withMeshNode(stateDirectory: state, folders: []) { b in
                let status = try await DownloadPauseTests.status(b, id)
                #expect(status?.state == .cancelled, "\(String(describing: status))")
                // A final download is not cancelled again.
                let again = try await Client.send(b.baseURL + DownloadAPI.path + "/" + id, method: "DELETE")
                #expect(again.status == 404)
            }
        }
    }

    /// The first `count` download statuses of the event stream.
    static func firstEvents(_ url: String, count: Int) async throws -> [DownloadAPI.Status] {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
        var statuses: [DownloadAPI.Status] = []
        var pending: [UInt8] = []
        for try await chunk in response.body {
            pending.append(contentsOf: chunk.readableBytesView)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                guard line.starts(with: Array("data: ".utf8)) else { continue }
                statuses.append(try JSONDecoder().decode(DownloadAPI.Status.self, from: Data(line.dropFirst(6))))
                if statuses.count == count { return statuses }
            }
        }
        return statuses
    }
}
