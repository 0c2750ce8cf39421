import Foundation
import Testing

@testable import AtmoProtocol

/// `POST /v1/repository-pulls`: only `model_id` is required (docs/PROTOCOL.md); what
/// `atmo pull` sends is unchanged.
struct RepositoryPullStartTests {
    @Test("a body with only model_id takes the defaults: every file, into hf")
    func onlyTheModelIDIsRequired() throws {
        let start = try WireCoding.decode(RepositoryPullAPI.Start.self, from: Data(#"{"model_id":"acme--tiny"}"#.utf8))
        #expect(start == RepositoryPullAPI.Start(modelID: "acme--tiny"))
        #expect(start.include == [] && start.exclude == [] && start.into == "hf" && start.paths == nil && start.priority == nil)
    }

    @Test("every field given is read")
    func everyFieldIsRead() throws {
        let body = #"""
            {"model_id":"acme--tiny","revision":"0123456789012345678901234567890123456789","include":["*.json"],
             "exclude":["*.bin"],"paths":["a.json"],"into":"atmo","hub_cache":"/h","llamafarm_root":"/l","priority":"low"}
            """#
        let start = try WireCoding.decode(RepositoryPullAPI.Start.self, from: Data(body.utf8))
        var expected = RepositoryPullAPI.Start(
            modelID: "acme--tiny", revision: "0123456789012345678901234567890123456789", include: ["*.json"], exclude: ["*.bin"],
            paths: ["a.json"], into: "atmo", hubCache: "/h", llamaFarmRoot: "/l")
        expected.priority = .low
        #expect(start == expected)
    }

    @Test("a body without model_id is refused")
    func theModelIDIsRequired() {
        #expect(throws: WireError.self) { try WireCoding.decode(RepositoryPullAPI.Start.self, from: Data(#"{"into":"hf"}"#.utf8)) }
    }

    @Test("encoded, it names include, exclude and into as before (older nodes require them)")
    func encodingStillNamesTheFieldsOlderNodesRequire() throws {
        let data = try WireCoding.encode(RepositoryPullAPI.Start(modelID: "acme--tiny"))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["model_id", "include", "exclude", "into"], "\(object)")
        #expect(object["into"] as? String == "hf")
        let back = try WireCoding.decode(RepositoryPullAPI.Start.self, from: data)
        #expect(back == RepositoryPullAPI.Start(modelID: "acme--tiny"))
    }
}
