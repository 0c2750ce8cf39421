import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension EndToEnd {
    /// `atmo pull` through the running node follows the download on `/v1/downloads/events`,
    /// which the node caps per client address: a stream of the CLI that the node supersedes
    /// mid-pull, or that drops while the node restarts, is followed again, and the pull completes.
    @Suite("a pull followed through the node")
    struct NodeFollowSuperseded {
        @Test("atmo pull keeps following and succeeds when the node supersedes its event stream mid-pull")
        func supersededStreamIsFollowedAgain() async throws {
            try await withAtmoSandbox { sandbox in
                try await FollowedPull.run(in: sandbox, modelID: "gamma.gguf", seed: 33) { pull in
                    let c = pull.c
                    // As many streams as an address may hold, from the CLI's address (the node's
                    // file names 127.0.0.1): the CLI's, the oldest, is superseded.
                    // One at a time (each admitted before the next), so the first is the oldest.
                    var streams: [IdleEventStream] = []
                    defer { streams.forEach { $0.close() } }
                    for _ in 0..<NodeAPI.maxEventStreamsPerAddress {
                        let stream = try IdleEventStream(port: c.port)
                        streams.append(stream)
                        #expect(try await stream.wait(timeout: 10) { $0.contains("\r\n\r\n") }, "a head: \(stream.text)")
                    }
                    let running = await HTTPProbe.getJSON(DownloadAPI.StatusList.self, port: c.port, path: DownloadAPI.path)?.downloads
                    #expect(
                        running?.contains { $0.modelID == "gamma.gguf" && !$0.isFinal } == true,
                        "superseded mid-pull: \(String(describing: running))")
                    // The CLI follows again: its new stream supersedes the oldest of these.
                    #expect(
                        try await streams[0].wait(timeout: 30) { $0.contains("event: closed") },
                        "the CLI opened a stream again: \(streams[0].text.suffix(300))")

                    let output = await pull.expectCompleted()
                    #expect(output.bytesReported > 2 * mebibyte, "progress went on after the reconnect")
                }
            }
        }

        @Test("atmo pull keeps following when its stream drops as the node restarts mid-pull, and succeeds")
        func droppedStreamIsFollowedAgainAfterARestart() async throws {
            try await withAtmoSandbox { sandbox in
                // The same port after the restart: the CLI asks the address it read at its start.
                let portC = try HTTPProbe.unusedPort()
                try await FollowedPull.run(in: sandbox, modelID: "delta.gguf", seed: 34, portC: portC) { pull in
                    // The node stops mid-pull (its streams end, then nothing answers) and starts again.
                    pull.c.process.signal(SIGTERM)
                    #expect(await pull.c.process.waitForExit(timeout: 30) == 0)
                    #expect(pull.follower.isRunning, "the CLI waits for the node: \(pull.follower.standardError)")
                    _ = try await pull.restartC(port: portC)
                    _ = await pull.expectCompleted()
                }
            }
        }
    }

    /// A `/v1/downloads/events` stream on a plain socket that reads nothing until asked.
    final class IdleEventStream: @unchecked Sendable {
        let fd: Int32
        private(set) var text = ""
        private var closed = false

        init(port: Int) throws {
            fd = try LoopbackSocket.connect(port: port, writeTimeout: 2, from: "127.0.0.1")
            let request = Array(
                "GET \(DownloadAPI.eventsPath) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: text/event-stream\r\n\r\n".utf8)
            let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent == request.count else {
                close()
                throw ProcessFailure(message: "send: errno \(errno)")
            }
        }

        /// Reads what came until `condition(text)` holds (true), the stream ended or
        /// `timeout` seconds passed (false unless it holds then).
        func wait(timeout: Double, until condition: (String) -> Bool) async throws -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while !condition(text), Date() < deadline {
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if n > 0 {
                    text += String(decoding: chunk[0..<n], as: UTF8.self)
                } else if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    break
                } else {
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            return condition(text)
        }

        func close() {
            guard !closed else { return }
            closed = true
            LoopbackSocket.close(fd)
        }

        deinit { close() }
    }
}
