import AtmoNode
import AtmoTesting
import Foundation
import Testing

/// Several clients at once, and what the ledger says about them.
struct ConcurrentDownloadTests {
    static let bigSize = 6 * 1024 * 1024 + 12_345

    @Test func eightConcurrentDownloadsAreIdentical() async throws {
        try await withFixtureNode(extra: [("big.gguf", Self.bigSize)]) { node, fixture in
            let expected = try fixture.bytes("big.gguf")
            let url = node.baseURL + "/v1/models/download/big.gguf"
            let statuses = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let answer = try await Client.get(url)
                        return (answer.status, answer.body == expected)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.count == 8)
            #expect(statuses.allSatisfy { $0 == (200, true) })

            // The ledger closes each download once its last byte is handed over.
            let settled = try await eventually {
                let snapshot = node.node.ledger.snapshot
                return snapshot.activeDownloads == 0 && snapshot.bytesServed == Int64(8 * Self.bigSize)
            }
            #expect(settled)
            let transfers = try #require(try await Client.json(node.baseURL + "/health")["transfers"] as? [String: Any])
            #expect(transfers["active_downloads"] as? Int == 0)
            #expect(transfers["bytes_served"] as? Int == 8 * Self.bigSize)
        }
    }

    @Test func rangedPiecesReassembleTheFile() async throws {
        try await withFixtureNode(extra: [("big.gguf", Self.bigSize)]) { node, fixture in
            let expected = try fixture.bytes("big.gguf")
            let piece = 1 << 20
            let count = (Self.bigSize + piece - 1) / piece
            let parts = try await withThrowingTaskGroup(of: (Int, [UInt8]).self) { group in
                for index in 0..<count {
                    group.addTask {
                        let first = index * piece
                        let last = min(first + piece, Self.bigSize) - 1
                        let answer = try await Client.get(
                            node.baseURL + "/v1/models/download/big.gguf", headers: [("Range", "bytes=\(first)-\(last)")])
                        #expect(answer.status == 206)
                        #expect(answer.header("Content-Range") == "bytes \(first)-\(last)/\(Self.bigSize)")
                        return (index, answer.body)
                    }
                }
                return try await group.reduce(into: [Int: [UInt8]]()) { $0[$1.0] = $1.1 }
            }
            let joined = (0..<count).flatMap { parts[$0] ?? [] }
            #expect(joined == expected)
            let settled = try await eventually {
                let snapshot = node.node.ledger.snapshot
                return snapshot.activeDownloads == 0 && snapshot.bytesServed == Int64(Self.bigSize)
            }
            #expect(settled)
        }
    }

    /// Ranges that start and end inside read chunks of the server, across several of them.
    @Test(arguments: [(1_000_001, 3_500_000), (1 << 20, (2 << 20) - 1), (5, 5 + (3 << 20)), (bigSize - 1_234_567, bigSize - 1)])
    func unalignedRangesOfALargeFile(first: Int, last: Int) async throws {
        try await withFixtureNode(extra: [("big.gguf", Self.bigSize)]) { node, fixture in
            let expected = try fixture.bytes("big.gguf")
            let answer = try await RawHTTP.get(port: node.port, "/v1/models/download/big.gguf", headers: ["Range: bytes=\(first)-\(last)"])
            #expect(answer.status == 206)
            #expect(answer.header("content-length") == String(last - first + 1))
            #expect(answer.body == Array(expected[first...last]))
        }
    }

    /// A client that goes away mid-download ends the download in the ledger (counted bytes
    /// no more than the file) and does not disturb the next client.
    /// With a 0 ms limit every read after a body's first counts as slow, so the bodies are
    /// read on the file threads instead of the event loop: same bytes, whole and in ranges.
    @Test func bodiesReadOffTheEventLoopAreIdentical() async throws {
        try await withFixtureNode(extra: [("big.gguf", Self.bigSize)], configure: { $0.slowFileReadMilliseconds = 0 }) { node, fixture in
            let expected = try fixture.bytes("big.gguf")
            let url = node.baseURL + "/v1/models/download/big.gguf"
            let bodies = try await withThrowingTaskGroup(of: [UInt8].self) { group in
                for _ in 0..<4 { group.addTask { try await Client.get(url).body } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(bodies.count == 4 && bodies.allSatisfy { $0 == expected })
            let (first, last) = (1_000_001, Self.bigSize - 2)
            let ranged = try await Client.get(url, headers: [("Range", "bytes=\(first)-\(last)")])
            #expect(ranged.status == 206)
            #expect(ranged.body == Array(expected[first...last]))
            // The ledger counts a download when the node's side of it ends, which can come after
            // the client holds the last byte (as in the tests above).
            let settled = try await eventually {
                let snapshot = node.node.ledger.snapshot
                return snapshot.activeDownloads == 0 && snapshot.bytesServed == Int64(4 * Self.bigSize + last - first + 1)
            }
            #expect(settled, "\(node.node.ledger.snapshot)")
        }
    }

    @Test func abandonedDownloadIsClosed() async throws {
        try await withFixtureNode(extra: [("big.gguf", Self.bigSize)]) { node, fixture in
            let port = node.port
            try await RawHTTP.blocking {
                let connection = try RawHTTP.Connection(port: port, timeout: 20)
                defer { connection.close() }
                try connection.write(RawHTTP.request("GET", "/v1/models/download/big.gguf"))
                let head = try connection.readHead()
                #expect(head.status == 200)
                _ = try connection.readBytes(100_000)
            }
            let settled = try await eventually { node.node.ledger.snapshot.activeDownloads == 0 }
            #expect(settled)
            #expect(node.node.ledger.snapshot.bytesServed <= Int64(Self.bigSize))
            let again = try await Client.get(node.baseURL + "/v1/models/download/big.gguf")
            #expect(again.body == (try fixture.bytes("big.gguf")))
        }
    }
}
