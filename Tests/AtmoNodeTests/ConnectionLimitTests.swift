import AtmoNode
import AtmoTesting
import Foundation
import Testing

/// Connections that never send a complete request head are closed, and one client address
/// cannot hold more than its share of connections, while the others are served (issue 9,
/// item 3). Real sockets against a node on port 0.
struct ConnectionLimitTests {
    static let headTimeout = Duration.milliseconds(500)

    @Test func silentAndHalfHeadConnectionsAreClosedAfterTheHeadTimeout() async throws {
        try await withFixtureNode(configure: { $0.connections.requestHeadTimeout = Self.headTimeout }) { node, _ in
            let (silent, half) = try await RawHTTP.blocking {
                let silent = try RawHTTP.Connection(port: node.port, timeout: 20)
                let half = try RawHTTP.Connection(port: node.port, timeout: 20)
                defer {
                    silent.close()
                    half.close()
                }
                try half.write(Array("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8))
                // Each read ends only when the node closes the connection (or fails at the deadline).
                return (try silent.readUntilClosed(), String(decoding: try half.readUntilClosed(), as: UTF8.self))
            }
            // Nothing was asked: closed without a word. Half a head: 408 with the JSON error.
            #expect(silent.isEmpty)
            #expect(half.hasPrefix("HTTP/1.1 408"))
            #expect(half.contains(#""code":"request_timeout""#))
        }
    }

    @Test func healthAnswersWhileIdleSocketsAreOpenAndTheyAreClosedLater() async throws {
        let idleCount = 60
        try await withFixtureNode(configure: { $0.connections.requestHeadTimeout = .seconds(2) }) { node, _ in
            let (status, closed) = try await RawHTTP.blocking {
                let idle = try (0..<idleCount).map { _ in try RawHTTP.Connection(port: node.port, timeout: 30) }
                defer { idle.forEach { $0.close() } }
                let health = try RawHTTP.Connection(port: node.port, timeout: 20)
                defer { health.close() }
                try health.write(RawHTTP.request("GET", "/health"))
                let status = try health.readResponse(isHead: false).status
                var closed = 0
                for connection in idle {
                    if try connection.readUntilClosed().isEmpty { closed += 1 }
                }
                return (status, closed)
            }
            #expect(status == 200)
            #expect(closed == idleCount)
        }
    }

    @Test func oneAddressOverItsCapIsRefusedWhileItsOtherConnectionsAreServed() async throws {
        let cap = 4
        // No reserve: one more connection is refused whatever it asks (the reserve: SendStallTests).
        let limits = { (configuration: inout NodeConfiguration) in
            configuration.connections.maxConnectionsPerAddress = cap
            configuration.connections.reservedConnectionsPerAddress = 0
        }
        try await withFixtureNode(configure: limits) { node, _ in
            let outcome = try await RawHTTP.blocking { () -> (held: [Int], refused: String, stillServed: Int, afterClose: Int) in
                // A request on each makes sure the node counted it before the next one comes.
                let held = try (0..<cap).map { _ in try RawHTTP.Connection(port: node.port, timeout: 30) }
                defer { held.forEach { $0.close() } }
                var statuses: [Int] = []
                for connection in held {
                    try connection.write(RawHTTP.request("GET", "/health", keepAlive: true))
                    statuses.append(try connection.readResponse(isHead: false).status)
                }
                let extra = try RawHTTP.Connection(port: node.port, timeout: 20)
                defer { extra.close() }
                try? extra.write(RawHTTP.request("GET", "/health"))
                let refused = String(decoding: try extra.readUntilClosed(), as: UTF8.self)
                // The connections already open go on being served.
                try held[0].write(RawHTTP.request("GET", "/health", keepAlive: true))
                let stillServed = try held[0].readResponse(isHead: false).status
                // Closing one frees its place (once the node has seen the close).
                held[cap - 1].close()
                let deadline = Date().addingTimeInterval(20)
                var afterClose = 0
                while Date() < deadline {
                    let next = try RawHTTP.Connection(port: node.port, timeout: 20)
                    defer { next.close() }
                    try? next.write(RawHTTP.request("GET", "/health"))
                    let answer = try next.readUntilClosed()
                    if let status = Self.status(of: answer), status != 503 {
                        afterClose = status
                        break
                    }
                    Thread.sleep(forTimeInterval: 0.05)
                }
                return (statuses, refused, stillServed, afterClose)
            }
            #expect(outcome.held == Array(repeating: 200, count: cap))
            // 503 with the JSON error when the answer gets through before the close; a reset otherwise.
            #expect(outcome.refused.isEmpty || outcome.refused.hasPrefix("HTTP/1.1 503"))
            #expect(!outcome.refused.contains("200 OK"))
            #expect(outcome.stillServed == 200)
            #expect(outcome.afterClose == 200)
        }
    }

    /// The status code of a raw answer, when it has one.
    static func status(of answer: [UInt8]) -> Int? {
        let text = String(decoding: answer.prefix(12), as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 ") else { return nil }
        return Int(text.dropFirst(9).prefix(3))
    }
}
