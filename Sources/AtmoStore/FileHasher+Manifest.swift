import AtmoProtocol
import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension FileHasher {
    /// Buffers in flight between the reader and the two hashing threads: the reader fills
    /// some while both hash others, so no thread waits on another when they run at the same
    /// speed. Memory: `manifestSlotCount * bufferSize` (16 MiB).
    static let manifestSlotCount = 4

    /// The whole-file SHA-256 (lowercase hex) and the piece manifest of a file, from ONE
    /// read of it: the calling thread preads 4 MiB buffers, one thread feeds them to the
    /// whole-file hash and another computes the piece digests of the same buffers, so the
    /// two hashes (and the reads) share two cores and a file takes about as long as one
    /// SHA-256 pass (`HashPipeline`; bench/first-hash.sh).
    ///
    /// `pieceSize` nil chooses `PieceManifest.pieceSize(forFileSize:)` from the file's size
    /// when opened. Blocking: call through `BlockingIO.run` and pass its flag as
    /// `isCancelled`, checked before every read (throws `CancellationError`); the hashing
    /// threads have stopped when this returns or throws.
    package static func hashWithManifest(
        path: String, pieceSize: Int64? = nil, isCancelled: @Sendable () -> Bool = { false }
    ) throws -> (sha256: String, manifest: PieceManifest) {
        let fd = try openForSequentialReading(path)
        defer { FileIO.close(fd) }
        let size = try FileIO.fstat(fd).size
        let piece = pieceSize ?? PieceManifest.pieceSize(forFileSize: size)
        guard PieceManifest.isValidPieceSize(piece) else {
            throw StoreError(.conflict, "piece size \(piece) is not a power of two from 64 KiB to 64 MiB")
        }
        // A thread is not worth starting for a file that fits in two buffers.
        let (whole, digester) =
            size <= Int64(bufferSize) * 2
            ? try hashInline(fd: fd, path: path, pieceSize: piece, expectedSize: size, isCancelled: isCancelled)
            : try hashPipelined(fd: fd, path: path, pieceSize: piece, expectedSize: size, isCancelled: isCancelled)
        var pieces = digester
        guard let manifest = pieces.finish() else {
            throw StoreError(.corrupt, "\(path) is larger than any manifest can describe")
        }
        return (whole.finalize().hexString, manifest)
    }

    /// Both hashes on this thread, one buffer.
    private static func hashInline(
        fd: Int32, path: String, pieceSize: Int64, expectedSize: Int64, isCancelled: () -> Bool
    ) throws -> (SHA256, PieceDigester) {
        var whole = SHA256()
        var pieces = PieceDigester(pieceSize: pieceSize, expectedSize: expectedSize)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 4096)
        defer { buffer.deallocate() }
        var position: Int64 = 0
        while true {
            if isCancelled() { throw CancellationError() }
            let got = try FileIO.pread(fd, into: buffer, offset: position, path: path)
            if got == 0 { break }
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<got])
            whole.update(bufferPointer: bytes)
            pieces.update(bytes)
            position += Int64(got)
        }
        return (whole, pieces)
    }

    /// This thread reads; a `HashPipeline`'s two threads hash the same buffers, one the
    /// whole file, one the pieces.
    private static func hashPipelined(
        fd: Int32, path: String, pieceSize: Int64, expectedSize: Int64, isCancelled: () -> Bool
    ) throws -> (SHA256, PieceDigester) {
        let pipeline = HashPipeline(
            pieces: PieceDigester(pieceSize: pieceSize, expectedSize: expectedSize), slotCount: manifestSlotCount,
            slotSize: bufferSize)
        pipeline.start()
        var position: Int64 = 0
        do {
            while true {
                if isCancelled() { throw CancellationError() }
                let slot = pipeline.takeFreeSlot()
                let got = try FileIO.pread(fd, into: pipeline.slots[slot], offset: position, path: path)
                if got == 0 {
                    pipeline.giveBack(slot: slot)
                    break
                }
                pipeline.submit(slot: slot, count: got)
                position += Int64(got)
            }
        } catch {
            _ = pipeline.finish(abort: true)
            throw error
        }
        return pipeline.finish(abort: false)
    }
}
