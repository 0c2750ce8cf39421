import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Whether one read of a file body on an event loop (a `pread`, or a region's `sendfile`)
/// was slow because the disk was working: then the rest of that body is read on the node's
/// file threads, so the loop's other connections do not wait on the disk.
///
/// Wall time alone cannot tell a disk read from a preempted thread. On two cores, with a
/// pull and its provider on one machine, a 512 KiB `sendfile` from tmpfs took longer than
/// 2 ms for about two chunks in three, and those bodies went on as reads copied through
/// buffers: the provider's CPU per GiB doubled and no disk was involved. So a read is slow
/// when it took longer than the limit and the thread itself issued block input meanwhile
/// (`getrusage(RUSAGE_THREAD)`'s `ru_inblock`, on Linux), or when it took `allowance` times
/// the limit whatever the reason (another thread's read it waited for, a kernel without I/O
/// accounting). Where the thread's block input is not known, the limit alone decides, as
/// before. A limit of zero reads every body's later chunks off the loop.
struct LoopReadWatch {
    let limit: TimeAmount
    let started: NIODeadline
    /// The thread's block input before the read; nil where it is not known.
    let inputBlocks: Int?

    /// Times past the limit after which a read counts as slow without any disk input.
    static let allowance: Int64 = 25

    init(limit: TimeAmount) {
        self.limit = limit
        inputBlocks = Self.threadInputBlocks()
        started = .now()
    }

    /// Whether the read that began at `init` was slow (call on the same thread, right after it).
    var wasSlow: Bool {
        let elapsed = NIODeadline.now() - started
        let diskInput: Bool? = inputBlocks.flatMap { before in Self.threadInputBlocks().map { $0 > before } }
        return Self.isSlow(elapsed: elapsed, limit: limit, diskInput: diskInput)
    }

    /// The rule: `diskInput` nil when the thread's block input is not known.
    static func isSlow(elapsed: TimeAmount, limit: TimeAmount, diskInput: Bool?) -> Bool {
        guard limit > .zero else { return true }
        guard elapsed > limit else { return false }
        guard let diskInput else { return true }
        return diskInput || elapsed > .nanoseconds(limit.nanoseconds * allowance)
    }

    /// The calling thread's block input operations so far (512-byte units on Linux).
    static func threadInputBlocks() -> Int? {
        #if os(Linux)
        var usage = rusage()
        // RUSAGE_THREAD (1) is behind _GNU_SOURCE, which Swift's Glibc module does not define.
        guard getrusage(__rusage_who_t(1), &usage) == 0 else { return nil }
        return usage.ru_inblock
        #else
        return nil
        #endif
    }
}
