import AtmoProtocol
import Foundation

/// The stdout of `atmo pull --json`, line by line: `model_transfer_progress` lines, then a
/// final `pull_result` or `error` line. Lines that fit none of these are kept in `invalid`.
public struct PullOutput: Sendable {
    public var progress: [ModelTransferProgress] = []
    public var result: PullResultLine?
    public var error: CLIErrorLine?
    public var invalid: [String] = []
    /// Every line in order, as its kind: "progress", "result", "error" or "invalid".
    public var kinds: [String] = []

    public init(lines: [String]) {
        for line in lines {
            let data = Data(line.utf8)
            let type = (try? JSONDecoder().decode(TypeField.self, from: data))?.type
            if type == "pull_result", let result = try? JSONDecoder().decode(PullResultLine.self, from: data) {
                self.result = result
                kinds.append("result")
            } else if type == "error", let error = try? JSONDecoder().decode(CLIErrorLine.self, from: data) {
                self.error = error
                kinds.append("error")
            } else if case .progress(let progress)? = try? WireCoding.decodeMessage(data) {
                self.progress.append(progress)
                kinds.append("progress")
            } else {
                invalid.append(line)
                kinds.append("invalid")
            }
        }
    }

    public init(_ process: AtmoProcess) {
        self.init(lines: process.standardOutputLines)
    }

    /// The highest `bytes_downloaded` reported so far (0 before any report).
    public var bytesReported: Int64 { progress.map(\.bytesDownloaded).max() ?? 0 }

    /// The `phase` of a progress line (`downloading`, `verifying`, `installing`, `completed`).
    public static func phase(of progress: ModelTransferProgress) -> String? { progress.extra["phase"]?.stringValue }

    struct TypeField: Decodable { var type: String? }
}

/// The last line of a successful `atmo pull --json`.
public struct PullResultLine: Sendable, Decodable {
    public var modelID: String
    public var path: String
    public var sha256: String
    public var sizeBytes: Int64
    public var bytesTransferred: Int64
    public var resumedBytes: Int64
    public var alreadyInstalled: Bool
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case path, sha256, seconds
        case modelID = "model_id", sizeBytes = "size_bytes", bytesTransferred = "bytes_transferred"
        case resumedBytes = "resumed_bytes", alreadyInstalled = "already_installed"
    }
}

/// The last line of a failed `atmo ... --json`.
public struct CLIErrorLine: Sendable, Decodable {
    public var code: String
    public var error: String
    public var exitCode: Int32?

    enum CodingKeys: String, CodingKey {
        case code, error
        case exitCode = "exit_code"
    }
}

/// Waits until `atmo pull --json` running as `process` has reported at least `bytes`
/// downloaded, and returns what it reported. Throws when the process ends first or after
/// `timeout` seconds.
public func waitForPullProgress(_ process: AtmoProcess, atLeast bytes: Int64, timeout: Double = 60) async throws -> Int64 {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        let output = PullOutput(process)
        if output.result != nil || output.error != nil || !process.isRunning {
            throw ProcessFailure(
                message: "the pull ended before reporting \(bytes) bytes (saw \(output.bytesReported)): "
                    + "\(process.standardOutputLines.suffix(2)) \(process.standardError)")
        }
        if output.bytesReported >= bytes { return output.bytesReported }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw ProcessFailure(message: "the pull did not report \(bytes) bytes within \(timeout) s: \(process.standardError)")
}
