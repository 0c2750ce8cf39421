import AtmoStore
import Foundation
import Hummingbird
import NIOCore
import NIOPosix

/// Streams one byte range of a model file into a response body.
///
/// Reads happen on `readers` (off the event loop and the cooperative pool), one chunk
/// ahead of the socket: while chunk *n* is written, chunk *n+1* is read, so disk and
/// network overlap and the memory of one download stays at about three chunks.
///
/// The file must stay the one that was hashed: it is checked (size, mtime, inode, device)
/// when opened and after every read. A file that changes mid-stream ends the response
/// early (the client sees a short body, never a complete body with other bytes) and
/// `onChange` asks for a rescan.
struct FileRangeStreamer: Sendable {
    /// Bytes read from disk per write to the socket. 512 KiB keeps a download at about
    /// 1.5 MiB (three chunks, see `handedOver`) at full loopback speed; 1 MiB chunks were
    /// no faster and doubled the memory of 8 concurrent downloads.
    static let defaultChunkSize = 512 * 1024

    let path: String
    let expected: AtmoStore.FileIO.Stat
    let offset: Int64
    let length: Int64
    let readers: NIOThreadPool
    /// The event loop of the connection: see `handedOver`.
    let socketLoop: any EventLoop
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
        // unshared again and the next read fills it instead of allocating a new buffer.
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
            try await handedOver()
            sent += Int64(count)
            spare = current
            current = try await ahead
            position = next
        }
    }

    /// Waits until the connection's event loop has taken the chunks written so far.
    ///
    /// A body write returns as soon as the chunk is queued for the event loop; only then does
    /// the channel see it and report itself unwritable, which is what makes the next write
    /// wait. On a busy machine the loop runs behind, and without this barrier a fast reader
    /// queued dozens of 1 MiB chunks per download (200 MiB live with 8 downloads). After the
    /// barrier the channel's backpressure is current, so a download holds at most the chunk
    /// in the socket's queue, the one being written and the one being read.
    private func handedOver() async throws {
        try await socketLoop.submit {}.get()
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
