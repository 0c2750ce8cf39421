import AtmoProtocol
import AtmoTransfer
import Foundation
import NIOCore
import Synchronization
import Testing

@testable import AtmoNode

/// Which way a pull goes (`SourcePlanner`) and which relay frames carry it (`TransferHub`).
@Suite("relay routing")
struct RelayRoutingTests {
    static let entry = ModelEntry(
        modelID: "alpha.gguf", name: "alpha", type: "llm", format: "gguf", sizeBytes: 10,
        sha256: String(repeating: "a", count: 64))

    static func provider(_ id: String, http: String?, transports: [String]?) -> MeshAPI.Provider {
        MeshAPI.Provider(nodeID: id, nodeName: id, http: http, transports: transports)
    }

    static func plan(_ providers: [MeshAPI.Provider]) -> [String] {
        let model = MeshAPI.Model(entry: entry, providers: providers, installed: false)
        guard case .pull(let plan) = SourcePlanner.plan(modelID: "alpha.gguf", versions: [model]) else { return [] }
        return plan.sources.map(\.baseURL)
    }

    @Test func answeringEndpointsFirstThenRelaysThenFailingEndpoints() {
        let sources = Self.plan([
            Self.provider("n1", http: "http://10.0.0.1:1", transports: ["relay"]),  // endpoint failing, on a relay
            Self.provider("n2", http: "http://10.0.0.2:2", transports: ["http", "relay"]),
            Self.provider("n3", http: nil, transports: ["relay"]),
            Self.provider("n4", http: "http://10.0.0.4:4", transports: nil),  // an older node: its endpoint counts
        ])
        #expect(sources == ["http://10.0.0.2:2", "http://10.0.0.4:4", "relay://n1", "relay://n2", "relay://n3", "http://10.0.0.1:1"])
    }

    @Test func aNodeOnNoCommonRouteIsRefusedWithAReason() {
        let model = MeshAPI.Model(entry: Self.entry, providers: [Self.provider("n1", http: nil, transports: [])], installed: false)
        guard case .refuse(let code, let message) = SourcePlanner.plan(modelID: "alpha.gguf", versions: [model]) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(code == .notOffered)
        #expect(message.contains("no relay in common"))
    }

    @Test func binaryOnlyWhenTheRelayAndThePeerTakeIt() {
        let hub = TransferHub()
        let sent = Mutex<[String]>([])
        hub.linkJoined("ws://old-relay", relayForwardsBinary: false) { _ in
            sent.withLock { $0.append("old") }
            return true
        }
        hub.peerPresent("ws://old-relay", nodeID: "n1", capabilities: ["models", "binary_direct"])
        #expect(hub.route(to: "n1")?.binary == false, "a relay that did not advertise binary_direct gets text only")

        hub.linkJoined("ws://our-relay", relayForwardsBinary: true) { _ in true }
        hub.peerPresent("ws://our-relay", nodeID: "n1", capabilities: ["models", "binary_direct"])
        hub.peerPresent("ws://our-relay", nodeID: "n2", capabilities: ["models"])
        #expect(hub.route(to: "n1")?.relay == "ws://our-relay")
        #expect(hub.route(to: "n1")?.binary == true)
        #expect(hub.route(to: "n2")?.binary == false, "a peer without the capability gets text")
        #expect(hub.route(to: "n3") == nil)
    }

    @Test func transferMessagesReachTheirTransferOnlyFromItsPeer() async {
        let hub = TransferHub()
        hub.linkJoined("ws://relay", relayForwardsBinary: true) { _ in true }
        hub.peerPresent("ws://relay", nodeID: "n1", capabilities: [])
        let inbox = hub.open(requestID: "r1", peer: "n1")
        let ack = ModelTransferChunkAck(requestID: "r1", chunkIndex: 3)
        hub.received(RelayPayload.object(ack), from: "n2", via: "ws://relay")  // another node: dropped
        hub.received(RelayPayload.object(ack), from: "n1", via: "ws://relay")
        hub.peerGone("ws://relay", nodeID: "n1")
        var events: [String] = []
        for await event in inbox {
            switch event {
            case .message(.chunkAck(let received)): events.append("ack \(received.chunkIndex)")
            case .pathLost: events.append("lost")
            default: events.append("other")
            }
            if events.count == 2 { break }
        }
        #expect(events == ["ack 3", "lost"])
        hub.close(requestID: "r1")
    }
}
