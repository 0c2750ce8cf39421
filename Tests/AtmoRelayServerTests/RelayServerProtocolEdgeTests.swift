import AtmoRelayServer
import Foundation
import ServiceLifecycle
import Testing

/// The HTTP edges of issue 9 on the relay (items 3, 6, 7, 10), on raw sockets.
@Suite struct RelayServerProtocolEdgeTests {
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="

    static func upgrade(_ path: String, key: String = key, host: String? = "127.0.0.1") -> String {
        "GET \(path) HTTP/1.1\r\n" + (host.map { "Host: \($0)\r\n" } ?? "")
            + "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: \(key)\r\n\r\n"
    }

    @Test func anH2CUpgradeIsAnsweredAsHTTP11() async throws {
        try await withRelay { relay in
            let answer = try await RawSocket.blocking {
                let socket = try RawSocket(port: relay.port, timeout: 10)
                socket.send(
                    "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                        + "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n")
                return try socket.read(until: "}")
            }
            #expect(answer.hasPrefix("HTTP/1.1 200"))
            #expect(answer.contains(#""service":"atmo-relay""#))
        }
    }

    @Test(arguments: [
        "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n",
        "GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
        upgrade("/relay/mesh-1", host: nil),
    ])
    func aMissingOrDuplicatedHostIs400(request: String) async throws {
        try await withRelay { relay in
            let answer = try await RawSocket.exchange(port: relay.port, request)
            #expect(answer.hasPrefix("HTTP/1.1 400"))
            #expect(answer.contains(#""code":"bad_host""#))
        }
    }

    @Test(arguments: ["abc", "", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZSE="])
    func aWebSocketUpgradeWithAnInvalidKeyIs400(key: String) async throws {
        try await withRelay { relay in
            let answer = try await RawSocket.exchange(port: relay.port, Self.upgrade("/relay/mesh-1", key: key))
            #expect(answer.hasPrefix("HTTP/1.1 400"))
            #expect(answer.contains(#""code":"bad_upgrade""#))
            #expect(try await relay.stats().connections == 0)
        }
    }

    @Test func aValidWebSocketUpgradeStillSwitches() async throws {
        try await withRelay { relay in
            let head = try await RawSocket.blocking {
                let socket = try RawSocket(port: relay.port, timeout: 10)
                socket.send(Self.upgrade("/relay/mesh-1"))
                return try socket.read(until: "\r\n\r\n")
            }
            #expect(head.hasPrefix("HTTP/1.1 101"))
            #expect(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
        }
    }

    /// `Upgrade` naming websocket among other protocols, in one field or several: the upgrade
    /// happens (before, NIO found no upgrader for the raw `websocket, h2c`: no answer at all).
    @Test(arguments: ["Upgrade: websocket, h2c\r\n", "Upgrade: h2c, WebSocket\r\n", "Upgrade: h2c\r\nUpgrade: websocket\r\n"])
    func aWebSocketUpgradeAmongOthersSwitches(upgrade: String) async throws {
        try await withRelay { relay in
            let head = try await RawSocket.blocking {
                let socket = try RawSocket(port: relay.port, timeout: 10)
                socket.send(
                    "GET /relay/mesh-1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n\(upgrade)"
                        + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: \(Self.key)\r\n\r\n")
                return try socket.read(until: "\r\n\r\n")
            }
            #expect(head.hasPrefix("HTTP/1.1 101"))
        }
    }

    @Test func aMalformedChunkedBodyIs400() async throws {
        try await withRelay { relay in
            let answer = try await RawSocket.exchange(
                port: relay.port, "POST /stats HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nzz\r\n")
            #expect(answer.hasPrefix("HTTP/1.1 400"))
        }
    }

    @Test func silentAndHalfHeadConnectionsAreClosedAfterTheHeadTimeout() async throws {
        try await withRelay(configure: { $0.connections.requestHeadTimeout = .milliseconds(500) }) { relay in
            let (silent, half) = try await RawSocket.blocking {
                let silent = try RawSocket(port: relay.port, timeout: 20)
                let half = try RawSocket(port: relay.port, timeout: 20)
                half.send("GET /relay/mesh-1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n")
                return (try silent.readUntilClosed(), try half.readUntilClosed())
            }
            #expect(silent.isEmpty)
            #expect(half.hasPrefix("HTTP/1.1 408"))
            // /health is still answered.
            #expect(try await relay.get("/health").status == 200)
        }
    }

    @Test func oneAddressOverItsCapIsRefusedUntilOneOfItsConnectionsCloses() async throws {
        let cap = 3
        // No reserve: one more connection is refused whatever it asks.
        try await withRelay(configure: {
            $0.connections.maxConnectionsPerAddress = cap
            $0.connections.reservedConnectionsPerAddress = 0
        }) { relay in
            let (refused, afterClose) = try await RawSocket.blocking { () -> (String, String) in
                // Upgraded WebSockets hold their places.
                var held = try (0..<cap).map { _ in try RawSocket(port: relay.port, timeout: 20) }
                for socket in held {
                    socket.send(Self.upgrade("/relay/mesh-1"))
                    _ = try socket.read(until: "\r\n\r\n")
                }
                let extra = try RawSocket(port: relay.port, timeout: 20)
                extra.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                let refused = try extra.readUntilClosed()
                // One closes: its place is free again once the relay has seen the close.
                held.removeFirst()
                var afterClose = ""
                let deadline = Date().addingTimeInterval(20)
                while Date() < deadline, !afterClose.hasPrefix("HTTP/1.1 200") {
                    let next = try RawSocket(port: relay.port, timeout: 20)
                    next.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    afterClose = try next.readUntilClosed()
                    if !afterClose.hasPrefix("HTTP/1.1 200") { Thread.sleep(forTimeInterval: 0.05) }
                }
                withExtendedLifetime(held) {}
                return (refused, afterClose)
            }
            #expect(refused.isEmpty || refused.hasPrefix("HTTP/1.1 503"))
            #expect(!refused.contains("200 OK"))
            #expect(afterClose.hasPrefix("HTTP/1.1 200"))
        }
    }

    @Test func aGracefulShutdownClosesAConnectionStillSendingItsFirstHead() async throws {
        let directory = try TestDirectory()
        defer { directory.remove() }
        // Nothing but the shutdown itself closes the connection within the socket's 100 s: the
        // first-head timeout is 10 min and the shutdown is cut only after 130 s (closeTimeout
        // + 10 s). No bound on how long the shutdown takes: under a loaded CI it may be slow.
        var configuration = RelayServerConfiguration(host: "127.0.0.1", port: 0, stateDirectory: directory.path, closeTimeout: .seconds(120))
        configuration.connections.requestHeadTimeout = .seconds(600)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let server = try RelayServer(configuration: configuration, logger: testLogger) { port in portContinuation.yield(port) }
        let group = ServiceGroup(services: [server], gracefulShutdownSignals: [], logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            guard let port = await ports.first(where: { _ in true }) else { throw RelayTestError("the relay did not listen") }
            let socket = try await RawSocket.blocking {
                let socket = try RawSocket(port: port, timeout: 100)
                socket.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                return socket
            }
            // The relay has the connection once it answered another one.
            let health = try await RawSocket.exchange(port: port, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(health.hasPrefix("HTTP/1.1 200"))
            await group.triggerGracefulShutdown()
            // Throws when the connection is still open at the socket's deadline.
            let answer = try await RawSocket.blocking { try socket.readUntilClosed() }
            #expect(answer.isEmpty, "closed without an answer (no 408): \(answer)")
            try await tasks.waitForAll()
        }
    }
}
