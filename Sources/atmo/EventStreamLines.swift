import Foundation

/// The lines of a `text/event-stream` body as its chunks arrive: bytes split only at `\n`
/// (a character cut between two chunks is decoded whole), each byte looked at once. The
/// consumed prefix is dropped when it is at least half the buffer, so the work stays linear
/// however the node cuts its stream (64 KiB of newlines, a line that never ends). A line
/// longer than `maxLine` is not an event of ours: it is dropped, up to its end. Pure.
struct EventStreamLines: Sendable {
    static let maxLine = 1 << 20

    private var buffer: [UInt8] = []
    /// Where the line not yet returned starts.
    private var start = 0
    /// Bytes before this index (from `start`) hold no `\n`.
    private var scanned = 0
    /// Inside a line over `maxLine`: what comes up to its `\n` is dropped.
    private var skipping = false

    /// Bytes held (the line not yet ended, and a consumed prefix at most as long).
    var heldBytes: Int { buffer.count }

    /// Adds the next chunk of the body.
    mutating func append(_ bytes: some Collection<UInt8>) {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            (start, scanned) = (0, 0)
        } else if start > 0, start >= buffer.count - start {
            buffer.removeSubrange(..<start)
            scanned -= start
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole line (without its `\n`), or nil until more bytes come.
    mutating func next() -> ArraySlice<UInt8>? {
        while let newline = newline(from: scanned) {
            let line = buffer[start..<newline]
            (start, scanned) = (newline + 1, newline + 1)
            if skipping {
                skipping = false
                continue
            }
            return line
        }
        scanned = buffer.count
        if buffer.count - start > Self.maxLine {
            // A line that never ends is not ours: drop what came of it, and the rest up to its end.
            (start, skipping) = (buffer.count, true)
        }
        return nil
    }

    /// The index of the first `\n` at or after `index` (`memchr`: fast in a debug build too).
    private func newline(from index: Int) -> Int? {
        buffer.withUnsafeBufferPointer { bytes in
            guard index < bytes.count, let base = bytes.baseAddress,
                let hit = memchr(base + index, Int32(UInt8(ascii: "\n")), bytes.count - index)
            else { return nil }
            return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        }
    }
}
