import Crypto
import Foundation

/// The two hashing threads of `FileHasher.hashWithManifest`: the reader fills buffers
/// (`takeFreeSlot`, `submit`), one thread feeds each to the whole-file SHA-256, the other
/// to a `PieceDigester`, each in file order, and a buffer is free again once both are done
/// with it. Three stages (pread, whole hash, piece hashes) on two cores: the scheduler
/// spreads about 1.4 CPU-seconds per GiB over both, where one reading-and-hashing thread
/// beside one piece thread left the reading thread ~0.85 s per GiB on its own.
///
/// The state between the threads is guarded by one `NSCondition` (threads, not tasks, wait
/// on it: this runs on a pool thread and two threads of its own, never the cooperative
/// pool).
final class HashPipeline: @unchecked Sendable {
    private static let consumers = 2

    let slots: [UnsafeMutableRawBufferPointer]
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var freeSlots: [Int]
    /// Per slot, how many hashing threads have yet to finish with it.
    private var readers: [Int]
    /// Per hashing thread, the filled buffers it has not taken yet, in file order.
    private var queues: [[(slot: Int, count: Int)]]
    private var ended = false
    private var aborted = false
    private var running = 0
    /// Touched by their own thread only until `running` is 0, then by the reader.
    private var whole = SHA256()
    private var pieces: PieceDigester

    init(pieces: PieceDigester, slotCount: Int, slotSize: Int) {
        self.pieces = pieces
        slots = (0..<slotCount).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: slotSize, alignment: 4096) }
        freeSlots = Array(0..<slotCount)
        readers = Array(repeating: 0, count: slotCount)
        queues = Array(repeating: [], count: Self.consumers)
    }

    deinit {
        for slot in slots { slot.deallocate() }
    }

    func start() {
        condition.lock()
        running = Self.consumers
        condition.unlock()
        for consumer in 0..<Self.consumers {
            let thread = Thread { [self] in run(consumer) }
            thread.name = consumer == 0 ? "atmo-file-hash" : "atmo-piece-hash"
            thread.start()
        }
    }

    /// A buffer the reader may fill; waits while the hashing threads hold all of them.
    func takeFreeSlot() -> Int {
        condition.lock()
        defer { condition.unlock() }
        while freeSlots.isEmpty { condition.wait() }
        return freeSlots.removeFirst()
    }

    /// Returns a slot taken but not filled.
    func giveBack(slot: Int) {
        condition.lock()
        freeSlots.append(slot)
        condition.unlock()
    }

    /// Hands the first `count` bytes of a filled buffer to both hashing threads.
    func submit(slot: Int, count: Int) {
        condition.lock()
        readers[slot] = Self.consumers
        for consumer in 0..<Self.consumers { queues[consumer].append((slot, count)) }
        condition.broadcast()
        condition.unlock()
    }

    /// Ends the stream (or drops what is queued, when `abort`), waits for both hashing
    /// threads to stop, and returns their hashers.
    func finish(abort: Bool) -> (SHA256, PieceDigester) {
        condition.lock()
        defer { condition.unlock() }
        ended = true
        aborted = abort
        condition.broadcast()
        while running > 0 { condition.wait() }
        return (whole, pieces)
    }

    private func run(_ consumer: Int) {
        while let item = next(consumer) {
            let bytes = UnsafeRawBufferPointer(rebasing: slots[item.slot][0..<item.count])
            if consumer == 0 { whole.update(bufferPointer: bytes) } else { pieces.update(bytes) }
            condition.lock()
            readers[item.slot] -= 1
            if readers[item.slot] == 0 {
                freeSlots.append(item.slot)
                condition.broadcast()
            }
            condition.unlock()
        }
    }

    /// The next filled buffer for `consumer`, or nil (and one fewer running) once the
    /// stream ended or was aborted.
    private func next(_ consumer: Int) -> (slot: Int, count: Int)? {
        condition.lock()
        defer { condition.unlock() }
        while queues[consumer].isEmpty && !ended { condition.wait() }
        if aborted || queues[consumer].isEmpty {
            running -= 1
            condition.broadcast()
            return nil
        }
        return queues[consumer].removeFirst()
    }
}
