import Foundation

/// The `atmo` executable run as a child process, for end-to-end tests: real processes, real
/// signals. Output goes to files in the test's folder so a failing test can show it.
public final class AtmoProcess: @unchecked Sendable {
    // @unchecked: `Process` is not Sendable; every access goes through its own thread-safe API.
    public let process: Process
    public let stdoutPath: String
    public let stderrPath: String

    /// The built `atmo` binary: `$ATMO_BINARY`, else next to the running test bundle.
    public static var binaryPath: String {
        if let path = ProcessInfo.processInfo.environment["ATMO_BINARY"] { return path }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("atmo").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return FileManager.default.currentDirectoryPath + "/.build/debug/atmo"
    }

    /// Starts `atmo arguments...`; output is written to `{logDirectory}/{name}.out|.err`.
    public init(_ arguments: [String], logDirectory: String, name: String, environment: [String: String] = [:]) throws {
        stdoutPath = logDirectory + "/\(name).out"
        stderrPath = logDirectory + "/\(name).err"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let binary = Self.binaryPath
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw ProcessFailure(message: "no atmo binary at \(binary): run `swift build` first (or set ATMO_BINARY)")
        }
        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = logDirectory
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    public func signal(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits for the process to end (polling, bounded) and returns its exit status;
    /// nil when it is still running after `timeout` seconds.
    public func waitForExit(timeout: Double = 60) async -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline { return nil }
            if Task.isCancelled {
                usleep(10_000)  // cleanup after a cancelled test: sleeping would return at once
            } else {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        return process.terminationStatus
    }

    /// Kills the process (SIGKILL) if it still runs, and reaps it.
    public func stop() async {
        signal(SIGKILL)
        _ = await waitForExit(timeout: 10)
    }

    public var standardOutput: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    public var standardError: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// The complete lines written to stdout so far (a line still being written is left out).
    public var standardOutputLines: [String] {
        let text = standardOutput
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeLast()  // what follows the last newline: empty, or a partial line
        return lines.filter { !$0.isEmpty }
    }

    /// The command line, for messages.
    public var commandLine: String { (["atmo"] + (process.arguments ?? [])).joined(separator: " ") }
}

/// Waits until `path` holds a port number (written by `atmo serve --port-file`).
public func waitForPortFile(_ path: String, process: AtmoProcess, timeout: Double = 120) async throws -> Int {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if let text = try? String(contentsOfFile: path, encoding: .utf8),
            let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            return port
        }
        guard process.isRunning else {
            throw ProcessFailure(message: "atmo exited before serving: \(process.standardError)")
        }
        try await Task.sleep(for: .milliseconds(25))
    }
    throw ProcessFailure(message: "atmo did not write \(path) within \(timeout) s: \(process.standardError)")
}

public struct ProcessFailure: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}
