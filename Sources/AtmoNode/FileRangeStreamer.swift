import AtmoStore
import Foundation
import Hummingbird
import NIOCore
import NIOPosix

/// Streams one byte range of a model file into a response body.
///
/// Reads happen on `readers` (off the event loop and the cooperative pool), one chunk
/// ahead of the socket: while chunk *n* is written, chunk *n+1* is read, so disk and
/// network overlap and the memory of one download stays at two chunks.
///
/// The file must stay the one that was hashed: it is checked (size, mtime, inode, device)
/// when opened and after every read. A file that changes mid-stream ends the response
/// early (the client sees a short body, never a complete body with other bytes) and
/// `onChange` asks for a rescan.
struct FileRangeStreamer: Sendable {
    /// Bytes read from disk per write to the socket.
    static let defaultChunkSize = 1 << 20

    let path: String
    let expected: AtmoStore.FileIO.Stat
    let offset: Int64
    let length: Int64
    let readers: NIOThreadPool
    var chunkSize = Self.defaultChunkSize
    let onChange: @Sendable () -> Void

    /// Writes the range and returns; `sent` counts the bytes handed to the socket so far
    /// (also when it throws part-way).
    func stream(to writer: inout any ResponseBodyWriter, sent: inout Int64) async throws {
        guard length > 0 else { return }
        let fd = try await readers.runIfActive { [self] () throws -> Int32 in
            let fd = try AtmoStore.FileIO.open(path, flags: O_RDONLY)
            do {
                try checkUnchanged(fd)
            } catch {
                AtmoStore.FileIO.close(fd)
                throw error
            }
            return fd
        }
        defer { AtmoStore.FileIO.close(fd) }
        let end = offset + length
        var position = offset
        var current = try await read(fd, at: position, count: chunkLength(at: position, end: end), reusing: nil)
        // The chunk written one round ago: once the socket has taken it, its storage is
        // unshared again and the next read fills it instead of allocating (fresh 1 MiB
        // buffers per chunk kept glibc's heap growing under many downloads).
        var spare: ByteBuffer? = nil
        while true {
            try Task.checkCancellation()
            let next = position + Int64(current.readableBytes)
            guard next < end else {
                try await writer.write(current)
                sent += Int64(current.readableBytes)
                return
            }
            // Read the next chunk while this one goes out.
            let reuse = spare
            spare = nil
            async let ahead = read(fd, at: next, count: chunkLength(at: next, end: end), reusing: reuse)
            let count = current.readableBytes
            try await writer.write(current)
            sent += Int64(count)
            spare = current
            current = try await ahead
            position = next
        }
    }

    private func chunkLength(at position: Int64, end: Int64) -> Int {
        Int(min(Int64(chunkSize), end - position))
    }

    /// Reads exactly `count` bytes at `position`, then checks the file is still the same.
    /// `reusing` is filled instead of a new buffer when nothing else holds it any more.
    private func read(_ fd: Int32, at position: Int64, count: Int, reusing: ByteBuffer?) async throws -> ByteBuffer {
        try await readers.runIfActive { [self] () throws -> ByteBuffer in
            var buffer = reusing ?? ByteBufferAllocator().buffer(capacity: count)
            buffer.clear()
            let path = self.path
            let got = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw throws(StoreError) in
                try AtmoStore.FileIO.pread(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<count]), offset: position, path: path)
            }
            guard got == count else {
                onChange()
                throw StoreError(.corrupt, "model file shrank while being served")
            }
            try checkUnchanged(fd)
            return buffer
        }
    }

    private func checkUnchanged(_ fd: Int32) throws {
        guard (try? AtmoStore.FileIO.fstat(fd)) == expected else {
            onChange()
            throw StoreError(.busy, "model file changed while being served; response aborted")
        }
    }
}
