import AtmoProtocol
import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension FileHasher {
    /// Buffers in flight between the reader and the piece thread: the reader fills one while
    /// the piece thread hashes another and a third waits, so neither waits on the other
    /// when both run at the same speed. Memory: `manifestSlotCount * bufferSize` (12 MiB).
    static let manifestSlotCount = 3

    /// The whole-file SHA-256 (lowercase hex) and the piece manifest of a file, from ONE
    /// read of it: the calling thread preads 4 MiB buffers and feeds the whole-file hash,
    /// while a second thread computes the piece digests of the same buffers, so the two
    /// hashes run on two cores and a file takes about as long as one SHA-256 pass.
    ///
    /// `pieceSize` nil chooses `PieceManifest.pieceSize(forFileSize:)` from the file's size
    /// when opened. Blocking: call through `BlockingIO.run` and pass its flag as
    /// `isCancelled`, checked before every read (throws `CancellationError`); the piece
    /// thread has stopped when this returns or throws.
    package static func hashWithManifest(
        path: String, pieceSize: Int64? = nil, isCancelled: @Sendable () -> Bool = { false }
    ) throws -> (sha256: String, manifest: PieceManifest) {
        let fd = try FileIO.open(path, flags: O_RDONLY)
        defer { FileIO.close(fd) }
        #if canImport(Glibc)
        posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        #elseif canImport(Darwin)
        _ = fcntl(fd, F_RDAHEAD, 1)
        #endif
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

    /// The reader (this thread) hashes the whole file; a `PieceThread` hashes pieces.
    private static func hashPipelined(
        fd: Int32, path: String, pieceSize: Int64, expectedSize: Int64, isCancelled: () -> Bool
    ) throws -> (SHA256, PieceDigester) {
        let pieces = PieceThread(
            digester: PieceDigester(pieceSize: pieceSize, expectedSize: expectedSize),
            slotCount: manifestSlotCount, slotSize: bufferSize)
        pieces.start()
        var whole = SHA256()
        var position: Int64 = 0
        do {
            while true {
                if isCancelled() { throw CancellationError() }
                let slot = pieces.takeFreeSlot()
                let buffer = pieces.slots[slot]
                let got = try FileIO.pread(fd, into: buffer, offset: position, path: path)
                if got == 0 { break }
                pieces.submit(slot: slot, count: got)
                // The piece thread reads the same bytes meanwhile; the slot is not refilled
                // before this thread takes it again, after this update.
                whole.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
                position += Int64(got)
            }
        } catch {
            _ = pieces.finish(abort: true)
            throw error
        }
        return (whole, pieces.finish(abort: false))
    }
}

/// The second thread of `hashWithManifest`: takes filled buffers in order, feeds their
/// bytes to a `PieceDigester`, and gives each buffer back. The state between the two
/// threads is guarded by one `NSCondition` (a thread, not a task, waits on it: this runs
/// on pool threads and a thread of its own, never the cooperative pool).
private final class PieceThread: @unchecked Sendable {
    let slots: [UnsafeMutableRawBufferPointer]
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var freeSlots: [Int]
    private var queued: [(slot: Int, count: Int)] = []
    private var ended = false
    private var aborted = false
    private var done = false
    /// Touched by the piece thread only until `done`, then by the reader.
    private var digester: PieceDigester

    init(digester: PieceDigester, slotCount: Int, slotSize: Int) {
        self.digester = digester
        slots = (0..<slotCount).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: slotSize, alignment: 4096) }
        freeSlots = Array(0..<slotCount)
        queued.reserveCapacity(slotCount)
    }

    deinit {
        for slot in slots { slot.deallocate() }
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "atmo-piece-hash"
        thread.start()
    }

    /// A buffer the reader may fill; waits while the piece thread holds all of them.
    func takeFreeSlot() -> Int {
        condition.lock()
        defer { condition.unlock() }
        while freeSlots.isEmpty { condition.wait() }
        return freeSlots.removeFirst()
    }

    /// Hands the first `count` bytes of a filled buffer to the piece thread.
    func submit(slot: Int, count: Int) {
        condition.lock()
        queued.append((slot, count))
        condition.broadcast()
        condition.unlock()
    }

    /// Ends the stream (or drops what is queued, when `abort`), waits for the piece thread
    /// to stop, and returns its digester.
    func finish(abort: Bool) -> PieceDigester {
        condition.lock()
        defer { condition.unlock() }
        ended = true
        aborted = abort
        condition.broadcast()
        while !done { condition.wait() }
        return digester
    }

    private func run() {
        while let item = next() {
            digester.update(UnsafeRawBufferPointer(rebasing: slots[item.slot][0..<item.count]))
            condition.lock()
            freeSlots.append(item.slot)
            condition.broadcast()
            condition.unlock()
        }
    }

    /// The next filled buffer, or nil (and `done`) once the stream ended or was aborted.
    private func next() -> (slot: Int, count: Int)? {
        condition.lock()
        defer { condition.unlock() }
        while queued.isEmpty && !ended { condition.wait() }
        if aborted || queued.isEmpty {
            done = true
            condition.broadcast()
            return nil
        }
        return queued.removeFirst()
    }
}
