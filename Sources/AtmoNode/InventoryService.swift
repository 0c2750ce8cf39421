import AtmoStore
import Logging
import ServiceLifecycle
import Synchronization

/// Keeps the inventory current: a full scan at start, then every `interval`, and soon after
/// anyone calls `requestRescan()` (a served file changed). Stops at graceful shutdown.
public final class InventoryService: Service, Sendable {
    let inventory: Inventory
    let interval: Duration
    /// Where the scans' blocking work runs (hashing included).
    let blockingIO: BlockingIO
    let logger: Logger
    private let rescanRequested = Mutex(false)

    public init(inventory: Inventory, interval: Duration, blockingIO: BlockingIO = .shared, logger: Logger) {
        self.inventory = inventory
        self.interval = interval
        self.blockingIO = blockingIO
        self.logger = logger
    }

    public func requestRescan() {
        rescanRequested.withLock { $0 = true }
    }

    public func run() async throws {
        let clock = ContinuousClock()
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    let started = clock.now
                    self.rescanRequested.withLock { $0 = false }
                    do {
                        try await self.inventory.refresh(using: self.blockingIO)
                    } catch is CancellationError {
                        return
                    } catch {
                        self.logger.error("model scan failed", metadata: ["error": "\(error)"])
                    }
                    self.logger.debug(
                        "model scan done",
                        metadata: ["models": "\(self.inventory.entries.count)", "seconds": "\(clock.now - started)"])
                    // Wait for the interval, waking early when a rescan is requested.
                    while clock.now - started < self.interval, !self.rescanRequested.withLock({ $0 }) {
                        try await Task.sleep(for: .milliseconds(250))
                    }
                }
            }
        } catch is CancellationError {
            return
        }
    }
}
