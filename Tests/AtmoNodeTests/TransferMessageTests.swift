import AtmoNode
import AtmoTesting
import Foundation
import Testing

/// `POST /v1/transfers` and `POST /v1/transfers/reports`.
struct TransferMessageTests {
    static func modelRequest(_ modelID: String, requestID: String = "7f1c0c1e-2f55-4d7e-9a39-2b8f3c1d0a11") -> String {
        #"{"type":"model_request","protocol_version":"1.1","request_id":"\#(requestID)","requester_node_id":"consumer-1","target_node_id":"provider","model_id":"\#(modelID)","resume_from_byte":0,"transport":"http"}"#
    }

    @Test func modelRequestGetsTransferStart() async throws {
        try await withFixtureNode(extra: [("chunky.gguf", 200_001)]) { node, fixture in
            let answer = try await Client.post(node.baseURL + "/v1/transfers", json: Self.modelRequest("chunky.gguf"))
            #expect(answer.status == 200)
            let start = try #require(answer.json)
            #expect(start["type"] as? String == "model_transfer_start")
            #expect(start["request_id"] as? String == "7f1c0c1e-2f55-4d7e-9a39-2b8f3c1d0a11")
            #expect(start["model_id"] as? String == "chunky.gguf")
            #expect(start["sha256"] as? String == (try ModelFixtures.sha256(of: fixture.path("chunky.gguf"))))
            #expect(start["total_bytes"] as? Int == 200_001)
            #expect(start["chunk_size"] as? Int == 65_536)
            #expect(start["total_chunks"] as? Int == 4)  // ceil(200001 / 65536)
            #expect(start["transfer_method"] as? String == "http_range")
            let metadata = try #require(start["metadata"] as? [String: Any])
            #expect(metadata["format"] as? String == "gguf")
            #expect(node.node.ledger.snapshot.requests == 1)
            let health = try await Client.json(node.baseURL + "/health")
            #expect((health["transfers"] as? [String: Any])?["requests"] as? Int == 1)
        }
    }

    @Test func requestWithoutTypeFieldIsAccepted() async throws {
        try await withFixtureNode { node, _ in
            let answer = try await Client.post(
                node.baseURL + "/v1/transfers", json: #"{"request_id":"r-1","model_id":"tiny.gguf"}"#)
            #expect(answer.status == 200)
            #expect(answer.json?["total_chunks"] as? Int == 1)
        }
    }

    @Test func unknownModelIs404() async throws {
        try await withFixtureNode { node, _ in
            let answer = try await Client.post(node.baseURL + "/v1/transfers", json: Self.modelRequest("not-here.gguf"))
            #expect(answer.status == 404)
            #expect(answer.json?["error"] as? String == "Model not found")
            #expect(node.node.ledger.snapshot.requests == 0)
        }
    }

    /// Bodies that must be refused with 400 and an error naming the problem.
    static let badBodies: [(body: String, mentions: String)] = [
        ("{not json", "JSON"),
        ("", "JSON"),
        ("[1,2,3]", "JSON"),
        (#""model_request""#, "JSON"),
        (#"{"type":"model_request","request_id":"r"}"#, "model_id"),
        (#"{"type":"model_request","request_id":"r","model_id":"../../etc/passwd"}"#, "model_id"),
        (#"{"type":"model_request","request_id":"r","model_id":""}"#, "model_id"),
        (#"{"type":"model_request","request_id":"r","model_id":42}"#, "model_id"),
        (#"{"type":"model_request","request_id":"r","model_id":"a\u0000b"}"#, "model_id"),
        (#"{"type":"model_request","model_id":"tiny.gguf"}"#, "request_id"),
        (#"{"type":"model_request","request_id":"r","model_id":"tiny.gguf","resume_from_byte":-5}"#, "resume_from_byte"),
        (#"{"type":"model_catalog","request_id":"r","model_id":"tiny.gguf"}"#, "type"),
    ]

    @Test(arguments: badBodies.indices)
    func malformedRequestIs400NamingTheProblem(index: Int) async throws {
        let (body, mentions) = Self.badBodies[index]
        try await withFixtureNode { node, _ in
            let answer = try await Client.post(node.baseURL + "/v1/transfers", json: body)
            #expect(answer.status == 400, "\(body): \(answer.text)")
            #expect(answer.header("Content-Type") == "application/json")
            let error = try #require(answer.json?["error"] as? String, "\(answer.text)")
            #expect(error.contains(mentions), "\(body) -> \(error)")
        }
    }

    @Test func oversizedBodyIsRefused() async throws {
        try await withFixtureNode { node, _ in
            let padding = String(repeating: "x", count: 2 << 20)
            let body = #"{"type":"model_request","request_id":"r","model_id":"tiny.gguf","pad":"\#(padding)"}"#
            for path in ["/v1/transfers", "/v1/transfers/reports"] {
                let answer = try await RawHTTP.send(
                    port: node.port, RawHTTP.request("POST", path, headers: ["Content-Type: application/json"], body: Array(body.utf8)))
                #expect(answer.status == 413 || answer.status == 400, "\(path)")
                #expect(answer.json?["error"] is String, "\(answer.bodyText)")
            }
        }
    }

    @Test func reportsAreCountedInHealth() async throws {
        try await withFixtureNode { node, _ in
            let complete = #"""
                {"type":"model_transfer_complete","request_id":"r1","model_id":"tiny.gguf","total_bytes_received":10000,
                 "sha256_computed":"\#(String(repeating: "a", count: 64))","sha256_expected":"\#(String(repeating: "a", count: 64))",
                 "verification_status":"success","storage_path":"/somewhere"}
                """#
            let failed = complete.replacingOccurrences(of: #""success""#, with: #""failed""#)
            let cancel = #"""
                {"type":"model_transfer_cancel","request_id":"r2","model_id":"tiny.gguf","reason":"user_cancelled",
                 "message":"stopped","cancelled_by":"consumer-1"}
                """#
            let timeout = cancel.replacingOccurrences(of: "user_cancelled", with: "timeout")
            for report in [complete, complete, failed, cancel, timeout] {
                let answer = try await Client.post(node.baseURL + "/v1/transfers/reports", json: report)
                #expect(answer.status == 202, "\(answer.text)")
                #expect(answer.json?["status"] as? String == "recorded")
            }
            let transfers = try #require(try await Client.json(node.baseURL + "/health")["transfers"] as? [String: Any])
            #expect(transfers["completed"] as? Int == 2)
            #expect(transfers["failed"] as? Int == 2)
            #expect(transfers["cancelled"] as? Int == 1)

            for bad in ["{oops", #"{"type":"model_request","request_id":"r","model_id":"tiny.gguf"}"#, #"{"no_type":1}"#] {
                let answer = try await Client.post(node.baseURL + "/v1/transfers/reports", json: bad)
                #expect(answer.status == 400, "\(bad)")
                #expect(answer.json?["error"] is String)
            }
        }
    }
}
