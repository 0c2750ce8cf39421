import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

@testable import AtmoNode

/// The bounds on `/v1/downloads/events` streams (the same as `/v1/events`, in a budget of
/// their own), on a real node with clients that never read (each a plain socket that reads
/// only the head): per client address (another address of 127.0.0.0/8 is another client)
/// and in all.
struct DownloadEventStreamBoundTests {
    @Test func aStreamBeyondTheAddressBoundClosesTheAddresssOldest() async throws {
        try await withTemporaryDirectory(prefix: "atmo-download-events") { folder in
            try await withMeshNode(stateDirectory: folder.path + "/state", folders: []) { running in
                let port = running.port
                let bound = NodeAPI.maxEventStreamsPerAddress
                let outcome = try await RawHTTP.blocking { () -> (statuses: [Int], oldest: String, cut: Bool, others: [String]) in
                    var open: [EventStreamConnection] = []
                    defer { open.forEach { $0.close() } }
                    for _ in 0...bound {
                        let stream = try EventStreamConnection(port: port, path: DownloadAPI.eventsPath)
                        try stream.readHead()
                        open.append(stream)
                    }
                    let oldest = open[0]
                    // The oldest is told why, then its connection is cut (not left idle): the read
                    // ends when the node cuts it, the 60 s are only a hang guard.
                    _ = try oldest.read(until: { _ in false }, timeout: 60)
                    // The others (the newest included) still get the queue's changes: a download
                    // of a model no node offers is one.
                    let start = try RawHTTP.Connection(port: port, timeout: 60)
                    defer { start.close() }
                    let body = Array(#"{"model_id": "nowhere.gguf"}"#.utf8)
                    try start.write(RawHTTP.request("POST", DownloadAPI.path, headers: ["Content-Type: application/json"], body: body))
                    _ = try start.readResponse(isHead: false)
                    for stream in open.dropFirst() { _ = try stream.read(until: { $0.contains("event: download") }) }
                    return (
                        open.map(\.status), oldest.text, oldest.ended,
                        open.dropFirst().map { $0.ended ? "ended: \($0.text)" : $0.text }
                    )
                }
                #expect(outcome.statuses == Array(repeating: 200, count: bound + 1), "one more from an address is admitted")
                #expect(outcome.cut, "the oldest stream's connection is closed: \(outcome.oldest.suffix(300))")
                #expect(outcome.oldest.contains("event: closed"), "\(outcome.oldest.suffix(300))")
                #expect(outcome.oldest.contains("\"code\":\"\(NodeAPI.streamSupersededCode)\""), "\(outcome.oldest.suffix(300))")
                #expect(
                    outcome.others.allSatisfy { !$0.hasPrefix("ended") && !$0.contains("event: closed") && $0.contains("event: download") },
                    "\(outcome.others)")
            }
        }
    }

    @Test func theStreamBeyondTheTotalIsRefusedAndAnAddressAtItsBoundStillReplacesItsOwn() async throws {
        try await withTemporaryDirectory(prefix: "atmo-download-events") { folder in
            try await withMeshNode(stateDirectory: folder.path + "/state", folders: []) { running in
                let port = running.port
                let perAddress = NodeAPI.maxEventStreamsPerAddress
                let addresses = (0..<(NodeAPI.maxEventStreams / perAddress)).map { "127.0.0.\($0 + 1)" }
                let outcome = try await RawHTTP.blocking {
                    () -> (statuses: [Int], refusal: (Int, String, String?), replacing: Int, dashboard: Int) in
                    var open: [EventStreamConnection] = []
                    defer { open.forEach { $0.close() } }
                    for address in addresses {
                        for _ in 0..<perAddress {
                            let stream = try EventStreamConnection(port: port, path: DownloadAPI.eventsPath, from: address)
                            try stream.readHead()
                            open.append(stream)
                        }
                    }
                    let extra = try EventStreamConnection(port: port, path: DownloadAPI.eventsPath, from: "127.0.0.\(addresses.count + 1)")
                    defer { extra.close() }
                    try extra.readHead()
                    _ = try extra.read(until: { $0.contains("}") })
                    let replacing = try EventStreamConnection(port: port, path: DownloadAPI.eventsPath, from: addresses[0])
                    defer { replacing.close() }
                    try replacing.readHead()
                    // The dashboard's stream has a budget of its own.
                    let dashboard = try EventStreamConnection(port: port, from: "127.0.0.\(addresses.count + 1)")
                    defer { dashboard.close() }
                    try dashboard.readHead()
                    return (open.map(\.status), (extra.status, extra.text, extra.header("retry-after")), replacing.status, dashboard.status)
                }
                #expect(outcome.statuses.count == NodeAPI.maxEventStreams && outcome.statuses.allSatisfy { $0 == 200 })
                #expect(outcome.refusal.0 == 503)
                #expect(outcome.refusal.1.contains("\"code\":\"too_many_streams\""), "\(outcome.refusal.1)")
                #expect(outcome.refusal.2 == "5")
                #expect(outcome.replacing == 200, "an address at its bound replaces its own oldest, even at the total")
                #expect(outcome.dashboard == 200, "/v1/events streams are counted apart")
            }
        }
    }
}
