import AtmoStore
import Foundation
import Hummingbird
import NIOCore

/// Where a `HubStreamedFile` reads from: a file that may still be arriving (an upstream
/// download's scratch file, a mesh fetch's partial then its installed file) and how far it
/// may be read now.
protocol HubStreamSource: Sendable {
    /// How far (from the file's start) bytes may be sent now, reading on from `position`:
    /// all but the held-back tail until the whole file is checked; `activity` is any count
    /// that grows while the file's fetch makes progress (bytes received), so a body waiting
    /// on checks is not taken for a stalled one. Throws once the file's fetch failed.
    func window(from position: Int64) async throws -> HubStreamWindow

    /// `count` bytes at `offset` (below the window's `readable`), read on a file thread; nil
    /// when what was read can no longer be vouched for (the partial's offer ended during the
    /// read): the body asks for the window again.
    func read(offset: Int64, count: Int) throws -> ByteBuffer?

    /// Closes what the source opened (the body is done, or cut).
    func close()
}

/// How far a streamed body may read, and how busy its fetch is.
struct HubStreamWindow: Sendable, Equatable {
    var readable: Int64
    var activity: Int64 = 0
}

/// A body read from a file that may still be growing, bytes `[offset, offset + length)` of
/// it, sent as `source` allows (`HubStreamSource.window`). A source that fails ends the body
/// in an error, which closes the connection before `length` bytes; so does a source that
/// shows no progress for `stallLimit` (a socket is never held forever). Owns `source`.
struct HubStreamedFile: Sendable {
    let source: any HubStreamSource
    let offset: Int64
    let length: Int64
    let io: BlockingIO
    var stallLimit: Duration = HubStreamedFile.defaultStallLimit

    /// No byte to send and no progress of the fetch for this long: the body is cut.
    static let defaultStallLimit: Duration = .seconds(60)
    /// The most bytes read and written at once.
    static let chunkBytes: Int64 = 256 << 10

    func responseBody() -> ResponseBody {
        ResponseBody(contentLength: Int(length)) { writer in
            let source = self.source
            defer { source.close() }
            var position = offset
            let end = offset + length
            var last = HubStreamWindow(readable: -1, activity: -1)
            var lastMoved = ContinuousClock.now
            while position < end {
                let window = try await source.window(from: position)
                if window != last {
                    last = window
                    lastMoved = ContinuousClock.now
                }
                let readable = min(end, window.readable)
                if position < readable {
                    let count = Int(min(Self.chunkBytes, readable - position))
                    let from = position
                    guard let bytes = try await io.run({ try source.read(offset: from, count: count) }) else { continue }
                    position += Int64(bytes.readableBytes)
                    lastMoved = ContinuousClock.now
                    try await writer.write(bytes)
                    continue
                }
                if ContinuousClock.now - lastMoved > stallLimit {
                    throw HubStreamStalled(seconds: stallLimit.components.seconds)
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            try await writer.finish(nil)
        }
    }

    /// `count` bytes of `fd` at `offset` (fewer at the end of the file; none is an error).
    static func pread(_ fd: Int32, offset: Int64, count: Int, path: String) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        let read = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw throws(StoreError) in
            try FileIO.pread(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<count]), offset: offset, path: path)
        }
        guard read > 0 else { throw StoreError(.corrupt, "\(path) ended early") }
        return buffer
    }
}

/// A streamed body whose file made no progress for too long.
struct HubStreamStalled: Error, CustomStringConvertible {
    let seconds: Int64
    var description: String { "no byte of the file arrived for \(seconds) s" }
}
