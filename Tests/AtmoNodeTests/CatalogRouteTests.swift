import AtmoNode
import AtmoTesting
import Foundation
import Testing

/// `/health`, `/v1/models`, `/v1/models/{id}` and the JSON answers of unknown routes.
struct CatalogRouteTests {
    @Test func healthReportsTheNode() async throws {
        try await withFixtureNode { node, _ in
            let health = try await Client.json(node.baseURL + "/health")
            #expect(health["status"] as? String == "ok")
            #expect(health["models_available"] as? Int == 2)
            #expect(health["http_port"] as? Int == node.port)
            #expect(health["node_id"] as? String == node.node.nodeID)
            #expect(!(node.node.nodeID.isEmpty))
            #expect(health["models_hashing"] as? Int == 0)
            let transfers = try #require(health["transfers"] as? [String: Any])
            #expect(transfers["active_downloads"] as? Int == 0)
            #expect(transfers["bytes_served"] as? Int == 0)
        }
    }

    @Test func catalogListsEveryModelWithoutLocalPaths() async throws {
        try await withFixtureNode { node, fixture in
            let answer = try await Client.get(node.baseURL + "/v1/models")
            #expect(answer.status == 200)
            #expect(answer.header("Content-Type") == "application/json")
            let models = try #require(answer.json?["models"] as? [[String: Any]])
            #expect(models.map { $0["model_id"] as? String } == [NodeFixture.tinyID, NodeFixture.weightsID])
            let tiny = try #require(models.first)
            #expect(tiny["format"] as? String == "gguf")
            #expect(tiny["size_bytes"] as? Int == NodeFixture.tinySize)
            let expectedHash = try ModelFixtures.sha256(of: fixture.path(NodeFixture.tinyID))
            #expect(tiny["sha256"] as? String == expectedHash)
            #expect(!answer.text.contains(fixture.directory.path))
            #expect(!answer.text.contains("/tmp"))
        }
    }

    @Test func oneEntryAndUnknownEntry() async throws {
        try await withFixtureNode { node, fixture in
            let answer = try await Client.get(node.baseURL + "/v1/models/" + NodeFixture.weightsID)
            #expect(answer.status == 200)
            let entry = try #require(answer.json)
            #expect(entry["model_id"] as? String == NodeFixture.weightsID)
            #expect(entry["size_bytes"] as? Int == NodeFixture.weightsSize)
            #expect(entry["sha256"] as? String == (try ModelFixtures.sha256(of: fixture.path(NodeFixture.weightsID))))
            #expect(!answer.text.contains(fixture.directory.path))

            let missing = try await Client.get(node.baseURL + "/v1/models/no-such-model")
            #expect(missing.status == 404)
            #expect(missing.header("Content-Type") == "application/json")
            #expect(missing.text == #"{"error":"Model not found"}"#)

            let missingDownload = try await Client.get(node.baseURL + "/v1/models/download/no-such-model")
            #expect(missingDownload.status == 404)
            #expect(missingDownload.json?["error"] as? String == "Model not found")
        }
    }

    @Test func noJSONBodyNamesALocalPath() async throws {
        try await withFixtureNode { node, fixture in
            var bodies: [String] = []
            for path in [
                "/health", "/v1/models", "/v1/models/\(NodeFixture.tinyID)", "/v1/models/nope", "/v1/models/%2e%2e",
                "/v1/models/download/nope", "/nowhere",
            ] {
                bodies.append(try await Client.get(node.baseURL + path).text)
            }
            let start = try await Client.post(
                node.baseURL + "/v1/transfers",
                json: #"{"type":"model_request","request_id":"r1","model_id":"tiny.gguf"}"#)
            bodies.append(start.text)
            for body in bodies {
                #expect(!body.contains(fixture.directory.path), "\(body)")
                #expect(!body.contains(fixture.modelsFolder), "\(body)")
            }
        }
    }

    @Test func unknownRoutesAndWrongMethodsAnswerJSON() async throws {
        try await withFixtureNode { node, _ in
            let unknown = try await Client.get(node.baseURL + "/definitely/not/here")
            #expect(unknown.status == 404)
            #expect(unknown.header("Content-Type") == "application/json")
            #expect(unknown.json?["error"] as? String == "Not found")

            let wrongMethod = try await Client.send(node.baseURL + "/v1/models", method: "DELETE")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.header("Allow") == "GET, HEAD")
            #expect(wrongMethod.json?["error"] is String)

            let getTransfers = try await Client.get(node.baseURL + "/v1/transfers")
            #expect(getTransfers.status == 405)
            #expect(getTransfers.header("Allow") == "POST")
            #expect(getTransfers.json?["error"] is String)

            let putDownload = try await Client.send(
                node.baseURL + "/v1/models/download/\(NodeFixture.tinyID)", method: "PUT", body: Array("x".utf8))
            #expect(putDownload.status == 405)
            #expect(putDownload.json?["error"] is String)
        }
    }

    @Test func headOfJSONRoutesHasHeadersAndNoBody() async throws {
        try await withFixtureNode { node, _ in
            let health = try await RawHTTP.head(port: node.port, "/health")
            #expect(health.status == 200)
            #expect(health.header("content-type") == "application/json")
            #expect((health.header("content-length").flatMap(Int.init) ?? 0) > 0)

            // HEAD of an error keeps the status and headers, and sends no body: a second
            // request on the same connection must parse cleanly.
            let pipelined = RawHTTP.request("HEAD", "/v1/models/nope", keepAlive: true) + RawHTTP.request("GET", "/health")
            let answers = try await RawHTTP.sendPipelined(port: node.port, pipelined, methods: ["HEAD", "GET"])
            #expect(answers[0].status == 404)
            #expect(answers[1].status == 200)
            #expect(answers[1].json?["status"] as? String == "ok")
        }
    }
}
