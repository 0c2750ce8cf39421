import AtmoNode
import AtmoTesting
import Foundation
import Testing

/// A client that stops reading in the middle of a body gives its connection back after
/// `sendStallTimeout` (hostile review F8: 20 such connections were all open after 200 s),
/// one that reads slowly but steadily is never cut, and bulk downloads holding every
/// ordinary place of an address leave the address's reserve to `/health` and the control
/// API. Real sockets against nodes on port 0.
struct SendStallTests {
    static let stall = Duration.seconds(1)
    /// Much longer than the stall timeout (the check runs every quarter of it), and long
    /// enough for a loaded machine's node to get to its check (at 4 s, a loaded run's reader
    /// got the whole 32 MiB). Counted from the status line, so the node is sending the body.
    static let notReading = 10.0

    @Test func aDownloadWhoseClientStopsReadingIsCutAndItsPlaceFreed() async throws {
        let size = 32 << 20
        try await withFixtureNode(
            extra: [("big.gguf", size)],
            configure: {
                $0.connections.sendStallTimeout = Self.stall
                $0.connections.maxConnectionsPerAddress = 2
                $0.connections.reservedConnectionsPerAddress = 0
            }
        ) { node, _ in
            let outcome = try await RawHTTP.blocking { () -> (statuses: [Int?], ended: [Bool], received: [Int], next: Int) in
                let stuck = try (0..<2).map { _ in try StallingReader(port: node.port, receiveBuffer: 16 << 10) }
                defer { stuck.forEach { $0.close() } }
                for reader in stuck { try reader.get("/v1/models/download/big.gguf") }
                // The status line first: from then on the node is sending the body, so the time
                // not read is a stall of a body under way, however late a loaded node started.
                for reader in stuck { _ = reader.readStatus(seconds: 60) }
                Thread.sleep(forTimeInterval: Self.notReading)
                // What the node had handed to the kernel before it gave up still arrives.
                let ended = stuck.map { $0.readToEnd(seconds: 30) }
                // Both places of the address are free again: a third download gets it all.
                let next = try StallingReader(port: node.port)
                defer { next.close() }
                try next.get("/v1/models/download/big.gguf")
                _ = next.readToEnd(seconds: 120)
                return (stuck.map(\.status), ended, stuck.map(\.received), next.received)
            }
            #expect(outcome.statuses == [200, 200])
            #expect(outcome.ended == [true, true])
            for received in outcome.received { #expect(received < size, "the body was cut short") }
            #expect(outcome.next > size, "a download after the stuck ones were cut is served whole")
        }
    }

    /// The hostile review's case: a Hub endpoint file streamed from the upstream as it
    /// arrives (`HubStreamedFile`, whose writer waited forever for a client that did not read).
    @Test func aHubEndpointBodyWhoseClientStopsReadingIsCut() async throws {
        let size = 24 << 20
        try await withTemporaryDirectory { directory in
            let fixture = try HubCacheFixture.make(root: directory.sub("upstream-hub"), weightsSize: size)
            try await withHubNode(state: directory.sub("upstream-state"), cache: fixture.root) { upstream in
                let listed = try await eventually(timeout: .seconds(60)) {
                    try await RawHTTP.get(port: upstream.port, "/api/models/\(HubCacheFixture.repoID)").status == 200
                }
                try #require(listed)
                let mirrorCache = directory.sub("mirror-hub")
                try FileManager.default.createDirectory(atPath: mirrorCache, withIntermediateDirectories: true)
                try await withHubNode(
                    state: directory.sub("mirror-state"), cache: mirrorCache,
                    configure: {
                        $0.hubUpstream = upstream.baseURL
                        $0.connections.sendStallTimeout = Self.stall
                    }
                ) { mirror in
                    let etag = try #require(fixture.etags["model.safetensors"])
                    let blob = mirrorCache + "/models--" + HubCacheFixture.repoID.replacingOccurrences(of: "/", with: "--") + "/blobs/" + etag
                    let (ended, received, status) = try await RawHTTP.blocking { () -> (Bool, Int, Int?) in
                        let reader = try StallingReader(port: mirror.port, receiveBuffer: 16 << 10)
                        defer { reader.close() }
                        try reader.get("/\(HubCacheFixture.repoID)/resolve/main/model.safetensors")
                        // Only bytes the node has and cannot send are a stall: under a loaded CI
                        // the upstream's bytes came slowly enough that none ever waited, and the
                        // body arrived whole. So stop reading until the mirror holds the file.
                        let deadline = Date().addingTimeInterval(120)
                        while !FileManager.default.fileExists(atPath: blob), Date() < deadline {
                            Thread.sleep(forTimeInterval: 0.05)
                        }
                        Thread.sleep(forTimeInterval: Self.notReading)
                        let ended = reader.readToEnd(seconds: 30)
                        return (ended, reader.received, reader.status)
                    }
                    #expect(status == 200)
                    #expect(ended)
                    #expect(received < size, "the body was cut short")
                }
            }
        }
    }

    @Test func aSlowButSteadyReaderIsNotCut() async throws {
        let size = 8 << 20
        try await withFixtureNode(extra: [("steady.gguf", size)], configure: { $0.connections.sendStallTimeout = Self.stall }) {
            node, _ in
            let (steady, ended, received) = try await RawHTTP.blocking { () -> (Bool, Bool, Int) in
                let reader = try StallingReader(port: node.port)
                defer { reader.close() }
                try reader.get("/v1/models/download/steady.gguf")
                // 64 KiB every 200 ms for three stall timeouts, then the rest at once.
                let steady = reader.readSlowly(bytes: 64 << 10, every: 0.2, for: 3)
                let ended = reader.readToEnd(seconds: 120)
                return (steady, ended, reader.received)
            }
            #expect(steady, "the stream did not end while the client read steadily")
            #expect(ended)
            #expect(received > size, "the whole body arrived")
        }
    }

    @Test func healthAndTheControlAPIAnswerWhileStuckDownloadsHoldEveryOrdinaryPlace() async throws {
        let size = 32 << 20
        try await withFixtureNode(extra: [("big.gguf", size)], configure: { $0.connections.maxConnectionsPerAddress = 2 }) {
            node, _ in
            let outcome = try await RawHTTP.blocking { () -> (stuck: [Int?], health: Int, downloads: Int, bulk: RawHTTP.Response) in
                let stuck = try (0..<2).map { _ in try StallingReader(port: node.port, receiveBuffer: 16 << 10) }
                defer { stuck.forEach { $0.close() } }
                for reader in stuck {
                    try reader.get("/v1/models/download/big.gguf")
                    // The status line: the node counts this connection and is sending its body.
                    _ = reader.readStatus(seconds: 60)
                }
                func send(_ target: String) throws -> RawHTTP.Response {
                    let connection = try RawHTTP.Connection(port: node.port, timeout: 20)
                    defer { connection.close() }
                    try connection.write(RawHTTP.request("GET", target))
                    return try connection.readResponse(isHead: false)
                }
                let health = try send("/health").status
                let downloads = try send("/v1/downloads").status
                // A reserve connection carries no bulk body.
                let bulk = try send("/v1/models/download/big.gguf")
                return (stuck.map(\.status), health, downloads, bulk)
            }
            #expect(outcome.stuck == [200, 200])
            #expect(outcome.health == 200)
            #expect(outcome.downloads == 200)
            #expect(outcome.bulk.status == 503)
            #expect(outcome.bulk.bodyText.contains(#""code":"too_many_connections""#))
            #expect(outcome.bulk.header("Retry-After") == "1")
        }
    }
}
