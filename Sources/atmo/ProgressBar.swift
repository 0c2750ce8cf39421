import AtmoTransfer
import Foundation

/// Keeps a pull's progress monotonic and inside [0, total] whatever the engine reports, and
/// draws it as one line on a terminal: bytes, %, rate, ETA. Redraws at most 5 times a
/// second, and only when stderr is a terminal; otherwise it draws nothing.
final class ProgressBar: @unchecked Sendable {
    // @unchecked: every stored property is guarded by `lock`.
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    private let isTerminal: Bool
    private var drewSomething = false
    private var shown: PullProgress?

    init(isTerminal: Bool = isatty(STDERR_FILENO) == 1) {
        self.isTerminal = isTerminal
    }

    /// The last report as shown (clamped), nil before the first.
    var lastShown: PullProgress? {
        lock.lock()
        defer { lock.unlock() }
        return shown
    }

    /// Takes a report, clamps it (never below what was shown for this request, never past
    /// the total), hands it to `emit` (in order, under the lock), draws it when due, and
    /// returns the clamped report.
    @discardableResult
    func update(_ progress: PullProgress, emit: (PullProgress) -> Void = { _ in }) -> PullProgress {
        lock.lock()
        defer { lock.unlock() }
        let clamped = Self.clamp(progress, after: shown)
        shown = clamped
        emit(clamped)
        guard isTerminal else { return clamped }
        let now = Date()
        guard clamped.phase != .downloading || now.timeIntervalSince(lastDraw) >= 0.2 else { return clamped }
        lastDraw = now
        drewSomething = true
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + Self.line(clamped)).utf8))
        return clamped
    }

    /// Writes `text` on a line of its own on stderr (over the bar, which the next update
    /// draws again).
    func note(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        let clear = isTerminal && drewSomething ? "\r\u{1B}[K" : ""
        FileHandle.standardError.write(Data((clear + "atmo: " + text + "\n").utf8))
    }

    /// Ends the line so later output starts on a fresh one.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drewSomething { FileHandle.standardError.write(Data("\n".utf8)) }
        drewSomething = false
    }

    /// `progress` with its byte and piece counts kept within [previous, total].
    static func clamp(_ progress: PullProgress, after previous: PullProgress?) -> PullProgress {
        var clamped = progress
        let total = max(0, progress.totalBytes)
        var floor: Int64 = 0
        var piecesFloor = 0
        if let previous, previous.requestID == progress.requestID, previous.totalBytes == progress.totalBytes {
            floor = previous.bytesDone
            piecesFloor = previous.piecesDone
        }
        clamped.bytesDone = min(total, max(floor, progress.bytesDone))
        clamped.piecesDone = min(max(0, progress.pieceCount), max(piecesFloor, progress.piecesDone))
        return clamped
    }

    static func line(_ progress: PullProgress, width: Int = 24) -> String {
        let fraction = min(1, max(0, progress.fraction))
        let filled = min(width, max(0, Int(fraction * Double(width))))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let percent = String(format: "%5.1f%%", fraction * 100)
        var text = "\(progress.modelID) \(bar) \(percent) \(formatBytes(progress.bytesDone))/\(formatBytes(progress.totalBytes))"
        switch progress.phase {
        case .downloading:
            text += "  \(formatBytes(Int64(max(0, progress.bytesPerSecond))))/s"
            if let eta = progress.etaSeconds, eta.isFinite, eta >= 0 { text += "  ETA \(formatDuration(eta))" }
            if let route = routeLabel(progress.peer) { text += "  \(TerminalText.clean(route))" }  // a peer chose it
        case .verifying: text += "  verifying"
        case .installing: text += "  installing"
        case .completed: text += "  done"
        case .preparing: text += "  preparing"
        }
        return text
    }
}

/// How the bytes come, for the progress line: `via relay` for a relayed source, `from HOST:PORT`
/// for an HTTP one; nil when unknown.
func routeLabel(_ peer: String) -> String? {
    if peer.hasPrefix("relay://") { return "via relay" }
    guard let host = URLComponents(string: peer)?.host else { return nil }
    return "from \(host)" + (URLComponents(string: peer)?.port.map { ":\($0)" } ?? "")
}

func formatDuration(_ seconds: Double) -> String {
    let total = Int(min(seconds, 359_999).rounded())
    if total >= 3600 { return "\(total / 3600)h\(String(format: "%02d", (total % 3600) / 60))m" }
    if total >= 60 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
    return "\(total)s"
}
