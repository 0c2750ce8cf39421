import NIOPosix
import Synchronization

/// Set when the task that started a piece of blocking work is cancelled. Work that takes
/// long checks it between steps (`FileHasher` between 4 MiB reads) and throws
/// `CancellationError`; a thread of the pool has no task, so `Task.isCancelled` is always
/// false there.
public final class CancellationFlag: Sendable {
    private let cancelled = Atomic<Bool>(false)

    public init() {}

    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    public func cancel() { cancelled.store(true, ordering: .relaxed) }
}

/// Where blocking work runs: open, pread/pwrite, fsync, hashing a file, SQLite. A bounded
/// NIO thread pool, so that work never occupies Swift's cooperative pool or an event loop,
/// and a node runs all of it (pulls, the inventory, serving files) on one pool of its own
/// (`MeshNode` passes it down). Cancelling the calling task sets the work's
/// `CancellationFlag` and the call still waits for the work to return, so nothing outlives
/// its caller and cleanup work (an fsync after a cancelled transfer) always runs.
public struct BlockingIO: Sendable {
    public let threadPool: NIOThreadPool

    /// Runs blocking work on `threadPool`, which the caller starts and shuts down.
    public init(threadPool: NIOThreadPool) {
        self.threadPool = threadPool
    }

    /// The pool of code that is not given one (a pull of the CLI, tests): 16 threads,
    /// started on first use, never shut down.
    public static let shared: BlockingIO = {
        let pool = NIOThreadPool(numberOfThreads: 16)
        pool.start()
        return BlockingIO(threadPool: pool)
    }()

    /// Runs `work` on the pool and returns its result. `work` gets a flag that is set when
    /// the calling task is cancelled. Throws `CancellationError` if the pool has stopped.
    public func run<T: Sendable>(_ work: @escaping @Sendable (CancellationFlag) throws -> T) async throws -> T {
        let flag = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                threadPool.submit { state in
                    guard case .active = state else {
                        continuation.resume(throwing: CancellationError())
                        return
                    }
                    continuation.resume(with: Result { try work(flag) })
                }
            }
        } onCancel: {
            flag.cancel()
        }
    }

    /// Runs short blocking work (a few system calls) on the pool; it is not interrupted.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await run { (_: CancellationFlag) in try work() }
    }

    /// `run` on the shared pool.
    package static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await shared.run(work)
    }
}
