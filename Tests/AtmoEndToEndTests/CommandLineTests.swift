import AtmoProtocol
import AtmoTesting
import Foundation
import Testing

extension EndToEnd {
    /// Failures a person meets at the command line: clear message, documented exit status,
    /// nothing written where it should not be.
    @Suite("command-line failures and lifecycle")
    struct CommandLine {
        @Test("hostile model ids are refused before anything is written")
        func hostileIDs() async throws {
            try await withAtmoSandbox { sandbox in
                let served = try await ServedModel.start(in: sandbox, size: 64 * 1024, seed: 61)
                // A decoy the ids below would reach from {consumer}/models if used as paths.
                let decoy = sandbox.path("victim")
                try Data("keep me".utf8).write(to: URL(fileURLWithPath: decoy + ".json"))
                try Data("keep me".utf8).write(to: URL(fileURLWithPath: decoy + ".gguf"))
                let state = ["--state-dir", served.consumer]
                for id in ["../../etc/passwd", "../../victim", "..", "/tmp/x", ".hidden", "x..y", "-"] {
                    let pull = try await sandbox.run(["pull", "--from", served.server.baseURL] + state + ["--", id], name: "pull-hostile")
                    #expect(pull.status == 64, "pull \(id): \(pull.stderr)")
                    #expect(
                        pull.stderr.contains("is not a model id") || pull.stderr.contains("is neither a repository id"),
                        "pull \(id): \(pull.stderr)")
                }
                // `org/name` is a repository id: one the peer does not hold is "not offered".
                let repository = try await sandbox.run(["pull", "--from", served.server.baseURL] + state + ["--", "a/b"], name: "pull-repo")
                #expect(repository.status == 4, "pull a/b: \(repository.stderr)")
                #expect(repository.stderr.contains("repository a/b"), "pull a/b: \(repository.stderr)")
                for command in ["rm", "verify"] {
                    let run = try await sandbox.run([command] + state + ["--", "../../victim"], name: "\(command)-hostile")
                    #expect(run.status == 4, "\(command): \(run.stderr)")
                }
                #expect(try String(contentsOfFile: decoy + ".json", encoding: .utf8) == "keep me")
                #expect(fileExists(decoy + ".gguf"))
                #expect(!fileExists(sandbox.path("etc")))
                let installed = (try? FileManager.default.contentsOfDirectory(atPath: served.consumer + "/models")) ?? []
                #expect(installed.filter { !$0.hasPrefix(".") }.isEmpty, "\(installed)")
            }
        }

        @Test("an unreachable peer: exit 3 and a message naming the URL")
        func unreachablePeer() async throws {
            try await withAtmoSandbox { sandbox in
                let url = "http://127.0.0.1:\(try HTTPProbe.unusedPort())"
                let pull = try await sandbox.run(
                    ["pull", "some-model.gguf", "--from", url, "--state-dir", sandbox.path("consumer"), "--json"], name: "pull")
                #expect(pull.status == 3, "\(pull.stderr)")
                #expect(pull.stderr.contains(url), "\(pull.stderr)")
                #expect(["peer_unreachable", "timeout"].contains(pull.pullOutput.error?.code ?? "none"), "\(pull.stdout)")
                let models = try await sandbox.run(["models", "--from", url], name: "models")
                #expect(models.status == 3, "\(models.stderr)")
                #expect(models.stderr.contains(url))
            }
        }

        @Test("a model the peer does not offer: exit 4")
        func unknownModel() async throws {
            try await withAtmoSandbox { sandbox in
                let served = try await ServedModel.start(in: sandbox, size: 64 * 1024, seed: 62)
                let pull = try await sandbox.run(
                    ["pull", "no-such-model.gguf", "--from", served.server.baseURL, "--state-dir", served.consumer, "--json"],
                    name: "pull")
                #expect(pull.status == 4, "\(pull.stderr)")
                #expect(pull.stderr.contains("no-such-model.gguf"))
                #expect(pull.pullOutput.error?.code == "not_offered")
                #expect(!fileExists(served.consumer + "/models/no-such-model.gguf"))
            }
        }

        @Test("a second pull of the same model into the same store while one runs: exit 7")
        func concurrentPullRefused() async throws {
            try await withAtmoSandbox { sandbox in
                let served = try await ServedModel.start(in: sandbox, size: 32 * mebibyte, sparse: true, seed: 66)
                try await TCPProxy.run(upstreamPort: served.server.port, options: .init(bytesPerSecond: 8 << 20)) { proxy in
                    let first = try sandbox.start(served.pullArguments(from: proxy.baseURL), name: "pull-first")
                    _ = try await waitForPullProgress(first, atLeast: 1)
                    let second = try await sandbox.run(served.pullArguments(), name: "pull-second")
                    #expect(second.status == 7, "\(second.stderr)")
                    #expect(second.stderr.contains("already being downloaded"))
                    #expect(second.pullOutput.error?.code == "already_running")
                    #expect(first.isRunning, "the first pull must carry on")
                    first.signal(SIGKILL)
                }
            }
        }

        @Test("serve on a port in use says so and names --port")
        func portInUse() async throws {
            try await withAtmoSandbox { sandbox in
                let served = try await ServedModel.start(in: sandbox, size: 64 * 1024, seed: 63)
                let port = served.server.port
                let second = try await sandbox.run(
                    [
                        "serve", "--host", "127.0.0.1", "--port", "\(port)", "--state-dir", sandbox.path("second"),
                        "--no-huggingface", "--no-llamafarm",
                    ], name: "serve-clash", timeout: 60)
                #expect(second.status != 0)
                #expect(second.stderr.contains("port \(port) is in use; choose another with --port"), "\(second.stderr)")
                #expect(served.server.process.isRunning, "the first node must be unaffected")
            }
        }

        /// What `atmo serve --log-level debug` writes (swift-service-lifecycle's debug lines)
        /// when a shutdown signal starts the graceful shutdown, and when that shutdown ran out
        /// its grace period (`NodeConfiguration.shutdownGracePeriodSeconds`, 10 s) and
        /// cancelled the services still running. The shutdown tests below check by these,
        /// not by a stopwatch: a loaded CI machine stretches every duration.
        static let debugLog = ["--log-level", "debug"]
        static let shutdownBegan = "Signal caught. Shutting down the group."
        static let gracePeriodRanOut = "Graceful shutdown took longer than allowed by the configuration"
        /// The end of a debug log, for a failure's message.
        static func tail(_ log: String) -> String { String(log.suffix(3000)) }

        /// Promptly: every part of an idle node stops by itself, none is cut when the grace
        /// period runs out (and a node ignoring the signal would still run at the 60 s guard).
        @Test("serve exits 0 promptly on SIGTERM and on SIGINT", arguments: [SIGTERM, SIGINT])
        func serveStopsOnSignal(signal: Int32) async throws {
            try await withAtmoSandbox { sandbox in
                let served = try await ServedModel.start(in: sandbox, size: 64 * 1024, seed: 64, serveArguments: Self.debugLog)
                served.server.process.signal(signal)
                let status = await served.server.process.waitForExit(timeout: 60)
                let log = served.server.process.standardError
                #expect(
                    status == 0, "exit status \(String(describing: status)) (nil: still running 60 s after the signal): \(Self.tail(log))")
                #expect(log.contains(Self.shutdownBegan), "no graceful shutdown began: \(Self.tail(log))")
                #expect(!log.contains(Self.gracePeriodRanOut), "an idle node waited out its grace period: \(Self.tail(log))")
                #expect(await HTTPProbe.get(port: served.server.port, path: "/health", timeout: 1) == nil)
            }
        }

        /// The download is paced to 256 KiB/s: the ranges the pull has asked for would take the
        /// node about 90 s to send (a node that waited for them without a grace period exited
        /// after 45 s at 512 KiB/s), so a node that exits 0 within the 60 s guard, saying its
        /// grace period ran out, cut them.
        @Test("serve exits 0 on SIGTERM within its grace period while a download is in flight")
        func serveStopsDuringTransfer() async throws {
            try await withAtmoSandbox { sandbox in
                let served = try await ServedModel.start(
                    in: sandbox, size: 64 * mebibyte, sparse: true, seed: 65, serveArguments: Self.debugLog)
                try await TCPProxy.run(upstreamPort: served.server.port, options: .init(bytesPerSecond: 256 << 10)) { proxy in
                    let pull = try sandbox.start(served.pullArguments(from: proxy.baseURL), name: "pull")
                    _ = try await waitForPullProgress(pull, atLeast: mebibyte)
                    served.server.process.signal(SIGTERM)
                    let status = await served.server.process.waitForExit(timeout: 60)
                    let log = served.server.process.standardError
                    #expect(
                        status == 0, "exit status \(String(describing: status)) (nil: still running 60 s after SIGTERM): \(Self.tail(log))")
                    #expect(log.contains(Self.gracePeriodRanOut), "the node did not stop by its grace period: \(Self.tail(log))")
                    #expect(!fileExists(served.installedPath), "the paced download finished")
                    pull.signal(SIGKILL)
                }
            }
        }

        @Test("--help of every command exits 0 and names its options")
        func helpTexts() async throws {
            try await withAtmoSandbox { sandbox in
                let expected: [String: [String]] = [
                    "": ["serve", "pull", "models", "ls", "verify", "rm", "130"],
                    "serve": ["--port", "--port-file", "--folder", "--no-huggingface", "--no-llamafarm", "--state-dir", "SIGTERM"],
                    "pull": ["--from", "--to", "--sha256", "--json", "--connections", "--stall-timeout", "resume"],
                    "models": ["--from", "--json", "--type", "--format"],
                    "ls": ["--json", "--hash", "--folder"],
                    "verify": ["--json", "--in"],
                    "rm": ["--json", "--in"],
                ]
                for (command, words) in expected.sorted(by: { $0.key < $1.key }) {
                    let help = try await sandbox.run(command.isEmpty ? ["--help"] : [command, "--help"], name: "help")
                    #expect(help.status == 0, "\(command): \(help.stderr)")
                    for word in words {
                        #expect(help.stdout.contains(word), "`atmo \(command) --help` does not mention \(word)")
                    }
                }
            }
        }
    }
}
