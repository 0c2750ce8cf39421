import AtmoTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension EndToEnd {
    /// `--request-head-timeout` and `--max-connections-per-address` reach both servers.
    @Suite("connection limit flags")
    struct ConnectionLimitFlags {
        static let flags = ["--request-head-timeout", "1", "--max-connections-per-address", "2"]

        @Test("atmo serve: silent sockets are closed after --request-head-timeout, one over the cap is refused")
        func serveTakesTheFlags() async throws {
            try await withAtmoSandbox { sandbox in
                let node = try await sandbox.serve(
                    folders: [sandbox.path("models")], stateDirectory: sandbox.path("state"), extraArguments: Self.flags)
                try await Self.check(port: node.port)
            }
        }

        @Test("atmo relay: the same flags")
        func relayTakesTheFlags() async throws {
            try await withAtmoSandbox { sandbox in
                let relay = try await sandbox.relay(stateDirectory: sandbox.path("relay"), extraArguments: Self.flags)
                try await Self.check(port: relay.port)
            }
        }

        /// Two silent connections are held, a third is refused at once, and both silent ones
        /// are closed by the server well before the default 30 s.
        static func check(port: Int) async throws {
            let first = try SilentSocket(port: port)
            let second = try SilentSocket(port: port)
            defer {
                first.close()
                second.close()
            }
            try await Task.sleep(for: .milliseconds(200))
            let third = try SilentSocket(port: port)
            defer { third.close() }
            #expect(third.waitForClose(seconds: 5), "a third connection from one address is refused")
            // 20 s: room for a loaded machine, still well before the default 30 s.
            #expect(first.waitForClose(seconds: 20), "a silent connection is closed after the 1 s head timeout")
            #expect(second.waitForClose(seconds: 20))
        }
    }
}

/// A TCP connection to 127.0.0.1 that sends nothing and only watches for the server to close.
private final class SilentSocket: Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = try LoopbackSocket.connect(port: port)
    }

    /// Whether the server closed the connection (end of stream or reset, after any answer it
    /// sent) within `seconds`.
    func waitForClose(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return true }
        }
        return false
    }

    func close() { LoopbackSocket.close(fd) }
}
