import AtmoTransfer
import Foundation

/// Draws one progress line on a terminal: bytes, %, rate, ETA. Redraws at most 5 times a
/// second, and only when stderr is a terminal; otherwise stays silent.
final class ProgressBar: @unchecked Sendable {
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private var drewSomething = false

    func update(_ progress: PullProgress) {
        guard isTerminal else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        guard progress.phase != .downloading || now.timeIntervalSince(lastDraw) >= 0.2 else { return }
        lastDraw = now
        drewSomething = true
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + Self.line(progress)).utf8))
    }

    /// Ends the line so later output starts on a fresh one.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drewSomething { FileHandle.standardError.write(Data("\n".utf8)) }
        drewSomething = false
    }

    static func line(_ progress: PullProgress, width: Int = 24) -> String {
        let fraction = progress.fraction
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let percent = String(format: "%5.1f%%", fraction * 100)
        var text = "\(progress.modelID) \(bar) \(percent) \(formatBytes(progress.bytesDone))/\(formatBytes(progress.totalBytes))"
        switch progress.phase {
        case .downloading:
            text += "  \(formatBytes(Int64(progress.bytesPerSecond)))/s"
            if let eta = progress.etaSeconds { text += "  ETA \(formatDuration(eta))" }
        case .verifying: text += "  verifying"
        case .installing: text += "  installing"
        case .completed: text += "  done"
        case .preparing: text += "  preparing"
        }
        return text
    }
}

func formatDuration(_ seconds: Double) -> String {
    let total = Int(seconds.rounded())
    if total >= 3600 { return "\(total / 3600)h\(String(format: "%02d", (total % 3600) / 60))m" }
    if total >= 60 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
    return "\(total)s"
}
