import AsyncHTTPClient
import AtmoProtocol
import AtmoTesting
import Foundation
import NIOCore
import Testing

@testable import AtmoNode

/// `UpdatesAPI` on a running node: follows made, changed and removed, bad requests refused,
/// nothing to accept or roll back answered 404.
struct UpdateRoutesTests {
    /// `method url` with `body`; the status and the answer as text. `timeout` bounds the
    /// whole exchange, body included, and is only a guard against a hang: ControlBoundsTests
    /// send bodies of over 4 MiB through here, which a loaded CI uploads and decodes slowly.
    func call(
        _ url: String, _ method: String = "GET", body: String? = nil, timeout: Duration = .seconds(120)
    ) async throws -> (UInt, String) {
        try await HTTPClient.withHTTPClient { http in
            var request = HTTPClientRequest(url: url)
            switch method {
            case "POST": request.method = .POST
            case "DELETE": request.method = .DELETE
            default: request.method = .GET
            }
            if let body { request.body = .bytes(ByteBuffer(string: body)) }
            let response = try await http.execute(request, timeout: TimeAmount(timeout))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            return (response.status.code, String(buffer: bytes))
        }
    }

    @Test func followsAreMadeChangedListedAndRemoved() async throws {
        try await withTemporaryDirectory(prefix: "atmo-follows") { folder in
            try await withMeshNode(
                stateDirectory: folder.path + "/state", folders: [],
                configure: { $0.follows = [UpdatesAPI.FollowRequest(modelID: "from-config.gguf", mode: "prompt")] }
            ) { running in
                let base = running.baseURL
                let (made, answer) = try await call(
                    base + UpdatesAPI.followsPath, "POST", body: #"{"model_id": "m.gguf", "mode": "auto-update"}"#)
                #expect(made == 200, "\(answer)")
                let (changed, _) = try await call(base + UpdatesAPI.followsPath, "POST", body: #"{"model_id": "m.gguf", "mode": "prompt"}"#)
                #expect(changed == 200)
                // The configuration's follow is adopted when the node starts (the deadline is a
                // hang guard; the loop ends as soon as both are listed).
                var list: [UpdatesAPI.Follow] = []
                let deadline = Date().addingTimeInterval(60)
                while Date() < deadline {
                    let (_, body) = try await call(base + UpdatesAPI.followsPath)
                    list = try JSONDecoder().decode(UpdatesAPI.FollowList.self, from: Data(body.utf8)).follows
                    if list.count == 2 { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(list.map(\.modelID) == ["from-config.gguf", "m.gguf"] && list.allSatisfy { $0.mode == "prompt" }, "\(list)")
                let (removed, _) = try await call(base + UpdatesAPI.followPath("m.gguf"), "DELETE")
                #expect(removed == 200)
                let (again, _) = try await call(base + UpdatesAPI.followPath("m.gguf"), "DELETE")
                #expect(again == 404)
                let (updates, body) = try await call(base + UpdatesAPI.updatesPath)
                #expect(updates == 200 && body.contains(#""updates":[]"#), "\(body)")
            }
        }
    }

    @Test(arguments: [
        #"{"model_id": "m.gguf", "mode": "sometimes"}"#, #"{"model_id": "../etc"}"#, #"{"model_id": ""}"#, "not json",
        #"{"mode": "auto"}"#,
    ])
    func badFollowsAreRefused(_ body: String) async throws {
        try await withTemporaryDirectory(prefix: "atmo-follows") { folder in
            try await withMeshNode(stateDirectory: folder.path + "/state", folders: []) { running in
                let (status, answer) = try await call(running.baseURL + UpdatesAPI.followsPath, "POST", body: body)
                #expect(status == 400, "\(answer)")
                try #expect(running.node.database.follows().isEmpty)
            }
        }
    }

    @Test func nothingToAcceptOrRollBackIsNotFound() async throws {
        try await withTemporaryDirectory(prefix: "atmo-follows") { folder in
            try await withMeshNode(stateDirectory: folder.path + "/state", folders: []) { running in
                let (accept, answer) = try await call(running.baseURL + UpdatesAPI.updatePath("m.gguf"), "POST")
                #expect(accept == 404, "\(answer)")
                let (rollback, text) = try await call(running.baseURL + UpdatesAPI.rollbackPath, "POST", body: #"{"model_id": "m.gguf"}"#)
                #expect(rollback == 404, "\(text)")
            }
        }
    }
}
