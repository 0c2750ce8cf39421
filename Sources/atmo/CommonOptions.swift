import ArgumentParser
import AtmoNode
import AtmoStore
import AtmoTransfer
import Foundation
import Logging

/// Where this node keeps its state and pulled models; shared by every command.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .customLong("state-dir"),
        help: "Folder of the node's state: hash cache, resume records, node key (default: $ATMO_HOME or ~/.atmo).")
    var stateDirectory: String?

    @Option(name: .customLong("models-dir"), help: "Folder of pulled models (default: <state-dir>/models).")
    var modelsDirectory: String?

    @Option(
        name: .customLong("log-level"),
        help: "trace, debug, info, notice, warning, error or critical (default: $ATMO_LOG_LEVEL, else info for serve, warning otherwise).")
    var logLevel: String?

    func validate() throws {
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    /// The node configuration from the environment, read once here and nowhere else.
    func nodeConfiguration() -> NodeConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let home = environment["HOME"] ?? NSHomeDirectory()
        var configuration = NodeConfiguration.defaults(environment: environment, home: home)
        if let stateDirectory {
            configuration.stateDirectory = absolute(stateDirectory)
            configuration.modelsDirectory = configuration.stateDirectory + "/models"
        }
        if let modelsDirectory { configuration.modelsDirectory = absolute(modelsDirectory) }
        return configuration
    }

    func makeLogger(label: String, defaultLevel: Logger.Level) -> Logger {
        let level = (logLevel ?? ProcessInfo.processInfo.environment["ATMO_LOG_LEVEL"]).flatMap { Logger.Level(rawValue: $0) }
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: label)
        logger.logLevel = level ?? defaultLevel
        return logger
    }
}

func absolute(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    if path == "~" || path.hasPrefix("~/") { return NSHomeDirectory() + path.dropFirst() }
    return FileManager.default.currentDirectoryPath + "/" + path
}

/// Ends the process with a message on stderr and a documented exit status (`ExitStatus`,
/// the README's table).
struct Failure: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32
    /// The `code` of the `--json` error line when `exit` is given none.
    var code = "error"
    var description: String { message }

    init(message: String, exitCode: Int32, code: String = "error") {
        self.message = message
        self.exitCode = exitCode
        self.code = code
    }

    /// The failure `error` is, as `ErrorMapping` maps it (exit status, code, message);
    /// `context` says what was being done.
    init(_ error: any Error, context: String? = nil) {
        if let answer = error as? LocalNodeError {
            // The local node's own answer: its code (or status) says what failed there.
            let code = answer.mapped
            self.init(
                message: context.map { "\($0): \(answer.message)" } ?? answer.message, exitCode: ErrorMapping.exitCode(for: code),
                code: answer.code ?? code.description)
            return
        }
        let mapped = ErrorMapping.map(error)
        self.init(message: context.map { "\($0): \(mapped.message)" } ?? mapped.message, exitCode: mapped.exitCode, code: mapped.wireCode)
    }

    /// Prints the message on stderr as text (`TerminalText`: it may quote a node or peer)
    /// (and, with `json`, an `error` line with `code` on stdout first) and exits with `exitCode`.
    func exit(json: Bool = false, code: String? = nil) -> Never {
        if json { printJSON(ErrorLine(code: code ?? self.code, error: message, exitCode: exitCode)) }
        FileHandle.standardError.write(Data("atmo: \(TerminalText.clean(message, limit: 4096))\n".utf8))
        Foundation.exit(exitCode)
    }
}

/// Prints one JSON value on one line and flushes, so a program reading a pipe sees each
/// progress line as it happens (stdout is block-buffered when it is not a terminal).
func printJSON<T: Encodable>(_ value: T) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    if let data = try? encoder.encode(value), let text = String(data: data, encoding: .utf8) {
        print(text)
        fflush(nil)  // all output streams; `stdout` itself is not concurrency-safe to name
    }
}

/// The `--json` form of a failure: `{"type":"error","code":...,"error":...,"exit_code":...}`.
struct ErrorLine: Encodable {
    var type = "error"
    var code: String
    var error: String
    var exitCode: Int32

    enum CodingKeys: String, CodingKey {
        case type, code, error
        case exitCode = "exit_code"
    }
}

/// `1.5 GiB`, `512 KiB`, `17 B`.
func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: value >= 100 ? "%.0f %@" : "%.1f %@", value, units[unit])
}
