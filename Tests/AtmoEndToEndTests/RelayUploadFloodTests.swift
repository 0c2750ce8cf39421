import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// A member of an open mesh that floods a provider with `model_request`s through
    /// `atmo relay` and never acks (hostile dec07e F6: 300 of them took the provider from 86
    /// to 710 MB and stalled its HTTP API). The provider serves a few at once per requesting
    /// node and refuses the rest with `model_transfer_cancel` (reason `timeout`, which
    /// every peer knows), instead of starting every one.
    @Suite("relayed upload flood")
    struct RelayUploadFlood {
        static let requests = 40
        /// `RelayUploadAdmission.Limits().perPeer`.
        static let perPeer = 8

        @Test("a peer's requests beyond its share are refused at once, not served")
        func aFloodingPeerGetsItsShareAndTheRestIsRefused() async throws {
            try await withAtmoSandbox { sandbox in
                let folder = sandbox.path("models")
                let sha = try ModelFixtures.writeSparseModel(at: folder + "/flood.bin", size: 4 * mebibyte, seed: 61)
                let relay = try await sandbox.relay(stateDirectory: sandbox.path("relay"))
                let provider = try await sandbox.serve(
                    folders: [folder], stateDirectory: sandbox.path("provider"), name: "provider", readyModels: ["flood.bin"],
                    extraArguments: ["--relay", relay.url + "/relay/floodmesh"])
                let providerID = try #require(await provider.health()?.nodeID)

                let socket = try await RawWebSocket.connect(port: relay.port, path: "/relay/floodmesh")
                defer { socket.close() }
                try await socket.send(text: #"{"type":"join","node_id":"flooder","name":"flooder","capabilities":["models"]}"#)
                // The provider sends its catalog to a newcomer: from then on it knows this peer.
                try await Self.read(socket, deadline: 60) { payload in payload["type"] as? String == "model_catalog" }

                var asked = Set<String>()
                for _ in 0..<Self.requests {
                    let id = UUID().uuidString.lowercased()
                    asked.insert(id)
                    let request: [String: Any] = [
                        "type": "model_request", "request_id": id, "requester_node_id": "flooder", "target_node_id": providerID,
                        "model_id": "flood.bin", "resume_from_byte": 0, "end_byte": 65536, "transport": "websocket",
                        "protocol_version": "1.1", "sha256": sha, "transfer_modes": ["fast_text"],
                    ]
                    let direct: [String: Any] = ["type": "direct", "target": providerID, "payload": request]
                    try await socket.send(text: String(decoding: try JSONSerialization.data(withJSONObject: direct), as: UTF8.self))
                }

                // Every request is answered, by a start or a cancel (the refusals after the
                // grace a request over the bound waits; the served ones time out unacked).
                var started = Set<String>()
                var refused: [String: String] = [:]
                try await Self.read(socket, deadline: 90) { payload in
                    guard let id = payload["request_id"] as? String, asked.contains(id) else { return false }
                    switch payload["type"] as? String {
                    case "model_transfer_start": started.insert(id)
                    case "model_transfer_cancel" where !started.contains(id):
                        refused[id] = "\(payload["reason"] ?? "") \(payload["message"] ?? "")"
                    default: break
                    }
                    return started.count + refused.count == Self.requests
                }
                #expect(started.count <= Self.perPeer, "\(started.count) transfers started for one peer")
                #expect(refused.count >= Self.requests - Self.perPeer)
                #expect(
                    refused.values.allSatisfy { $0.hasPrefix("timeout ") && $0.contains("at most \(Self.perPeer)") },
                    "\(refused.values.first ?? "")")
                // The provider still answers its HTTP API.
                #expect(await provider.health()?.status == "ok")
            }
        }

        /// Reads relay frames until `done` returns true for a `direct`'s payload, within `deadline` seconds.
        static func read(_ socket: RawWebSocket, deadline seconds: Double, until done: ([String: Any]) -> Bool) async throws {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                guard let frame = try await socket.nextFrame(timeout: max(1, deadline.timeIntervalSinceNow)) else {
                    Issue.record("the relay closed the connection")
                    return
                }
                guard frame.opcode == 0x1,
                    let message = try? JSONSerialization.jsonObject(with: Data(frame.payload)) as? [String: Any],
                    let payload = message["payload"] as? [String: Any]
                else { continue }
                if done(payload) { return }
            }
            Issue.record("no answer within \(seconds) s")
        }
    }
}
