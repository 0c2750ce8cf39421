import AtmoNode
import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

/// The download queue is bounded: a node does not take downloads without end.
@Suite(.timeLimit(.minutes(2)))
struct DownloadQueueLimitTests {
    /// With 256 downloads not yet final, a start of another model is refused with 429
    /// `queue_full` (a sentence saying to cancel some); one of a model already queued still
    /// joins its download, and a cancel makes room again.
    @Test func aStartBeyondTheBoundIsRefusedUntilOneEnds() async throws {
        try await withTemporaryDirectory { directory in
            try await withMeshNode(stateDirectory: directory.sub("node"), folders: []) { configuration in
                configuration.waitForProvidersSeconds = 600
            } _: { node in
                var ids: [String] = []
                for index in 0..<256 {
                    ids.append(try node.node.download(modelID: "missing-\(index).gguf"))
                }
                let refused = try await Client.post(node.baseURL + DownloadAPI.path, json: #"{"model_id":"one-more.gguf"}"#)
                #expect(refused.status == 429, "\(refused.status) \(refused.text)")
                #expect(refused.json?["code"] as? String == DownloadAPI.queueFullCode)
                #expect((refused.json?["error"] as? String)?.contains("cancel some") == true, "\(refused.text)")
                #expect(throws: (any Error).self) { try node.node.download(modelID: "one-more.gguf") }

                // A model already queued joins its download.
                let joined = try await Client.post(node.baseURL + DownloadAPI.path, json: #"{"model_id":"missing-7.gguf"}"#)
                #expect(joined.status == 202, "\(joined.status) \(joined.text)")
                #expect(joined.json?["request_id"] as? String == ids[7])

                // A cancel makes room.
                let cancelled = try await Client.send(node.baseURL + DownloadAPI.path + "/" + ids[0], method: "DELETE")
                #expect(cancelled.status == 200)
                let accepted = try await Client.post(node.baseURL + DownloadAPI.path, json: #"{"model_id":"one-more.gguf"}"#)
                #expect(accepted.status == 202, "\(accepted.status) \(accepted.text)")
            }
        }
    }
}
