import Foundation
import Testing

@testable import AtmoProtocol

/// `DownloadAPI.State`: one type owns the wire name of each state of a node's download.
struct DownloadStateTests {
    /// The names docs/PROTOCOL.md §6 gives, in the order a download goes through them.
    static let documented = [
        "queued", "preparing", "waiting", "downloading", "verifying", "installing", "completed", "failed", "cancelled",
    ]

    @Test func everyStateHasItsDocumentedWireName() {
        #expect(DownloadAPI.State.allKnown.map(\.wireName) == Self.documented)
        #expect(DownloadAPI.State.allKnown.allSatisfy { $0.isKnown })
        #expect(DownloadAPI.State.queued.wireName == "queued")
        #expect(DownloadAPI.State.waiting.wireName == "waiting")
        #expect(DownloadAPI.State.allKnown.filter(\.isFinal) == [.completed, .failed, .cancelled])
    }

    /// Every state survives a status's trip through JSON, under its own name.
    @Test(arguments: DownloadAPI.State.allKnown)
    func roundTripsThroughAStatus(_ state: DownloadAPI.State) throws {
        let status = DownloadAPI.Status(state: state, requestID: "r1", modelID: "m.gguf")
        let data = try WireCoding.encode(status)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["state"] as? String == state.wireName)
        let decoded = try WireCoding.decode(DownloadAPI.Status.self, from: data)
        #expect(decoded.state == state)
        #expect(decoded.state.isKnown)
        #expect(DownloadAPI.State(wireName: state.wireName) == state)
    }

    /// A state a newer node sends is kept by name: not an error, not final, and sent on as it came.
    @Test func aNewerNodesStateDecodesAsUnknown() throws {
        let json =
            #"{"state":"paused_for_battery","request_id":"r2","model_id":"m.gguf","bytes_done":5,"total_bytes":10,"bytes_per_second":0}"#
        let status = try WireCoding.decode(DownloadAPI.Status.self, from: Data(json.utf8))
        #expect(!status.state.isKnown)
        #expect(status.state.wireName == "paused_for_battery")
        #expect(status.state.description == "paused_for_battery")
        #expect(!status.isFinal)
        #expect(status.state != .queued)
        let again = try #require(try JSONSerialization.jsonObject(with: try WireCoding.encode(status)) as? [String: Any])
        #expect(again["state"] as? String == "paused_for_battery")
    }

    @Test func aStateThatIsNotAStringIsRefused() {
        let json = #"{"state":7,"request_id":"r3","model_id":"m.gguf","bytes_done":0,"total_bytes":0,"bytes_per_second":0}"#
        #expect(throws: (any Error).self) { try WireCoding.decode(DownloadAPI.Status.self, from: Data(json.utf8)) }
    }
}
