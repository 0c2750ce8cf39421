import Foundation
import Synchronization

/// A temporary folder plus every `atmo` process a test starts in it. `withAtmoSandbox`
/// kills (SIGKILL) whatever is still running and removes the folder on every path out of the
/// test, including thrown errors and failed expectations.
public final class AtmoSandbox: Sendable {
    public let directory: TemporaryDirectory
    private let processes = Mutex<[AtmoProcess]>([])

    public init(prefix: String = "atmo-e2e") throws {
        directory = try TemporaryDirectory(prefix: prefix)
    }

    /// `{sandbox}/{name}`.
    public func path(_ name: String) -> String { directory.sub(name) }

    /// Starts `atmo arguments...` with its output in `{sandbox}/logs/{n}-{name}.out|.err`;
    /// the process is stopped when the sandbox ends.
    public func start(_ arguments: [String], name: String, environment: [String: String] = [:]) throws -> AtmoProcess {
        let logs = path("logs")
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        return try processes.withLock { list in
            let process = try AtmoProcess(
                arguments, logDirectory: logs, name: "\(list.count + 1)-\(name)",
                environment: ["HOME": path("home")].merging(environment) { $1 })
            list.append(process)
            return process
        }
    }

    /// Runs `atmo arguments...` to its end (killed after `timeout` seconds, which throws).
    public func run(_ arguments: [String], name: String, timeout: Double = 120, environment: [String: String] = [:]) async throws
        -> Finished
    {
        let process = try start(arguments, name: name, environment: environment)
        guard let status = await process.waitForExit(timeout: timeout) else {
            await process.stop()
            throw ProcessFailure(message: "`\(process.commandLine)` still ran after \(timeout) s: \(process.standardError)")
        }
        return Finished(process: process, status: status)
    }

    /// Kills every process still running and waits for each to be reaped.
    public func stopAll() async {
        for process in processes.withLock({ $0 }) where process.isRunning {
            await process.stop()
        }
    }

    /// The commands run so far with their status and stderr, for failure messages.
    public var report: String {
        processes.withLock { $0 }.map { process in
            let status = process.isRunning ? "running" : "exit \(process.process.terminationStatus)"
            return "$ \(process.commandLine)  [\(status)]\n\(process.standardError.suffix(2000))"
        }.joined(separator: "\n")
    }

    /// A process that ended.
    public struct Finished: Sendable {
        public let process: AtmoProcess
        public let status: Int32
        public init(process: AtmoProcess, status: Int32) {
            self.process = process
            self.status = status
        }
        public var stdout: String { process.standardOutput }
        public var stderr: String { process.standardError }
        public var lines: [String] { process.standardOutputLines }
        /// `stdout` read as `atmo pull --json` output.
        public var pullOutput: PullOutput { PullOutput(process) }
    }
}

/// Runs `body` with a fresh sandbox; afterwards every process it started is killed and the
/// folder removed, whatever happened. Set `ATMO_KEEP_SANDBOX=1` to keep the folder.
public func withAtmoSandbox<T>(prefix: String = "atmo-e2e", _ body: (AtmoSandbox) async throws -> T) async throws -> T {
    let sandbox = try AtmoSandbox(prefix: prefix)
    let keep = ProcessInfo.processInfo.environment["ATMO_KEEP_SANDBOX"] == "1"
    do {
        let result = try await body(sandbox)
        await sandbox.stopAll()
        if !keep { sandbox.directory.remove() }
        return result
    } catch {
        await sandbox.stopAll()
        let report = sandbox.report
        if !keep { sandbox.directory.remove() }
        throw ProcessFailure(message: "\(error)\n--- processes ---\n\(report)")
    }
}
