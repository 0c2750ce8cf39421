import AtmoStore
import Logging
import ServiceLifecycle

/// Writes the uses the node recorded in memory (models served, pulled, marked used) to the
/// state database every `interval`, and once more when the node stops: one small
/// transaction per interval, however many requests were served.
struct UsageService: Service {
    let usage: UsageTracker
    let database: StateDatabase
    let blockingIO: BlockingIO
    var interval: Duration = .seconds(10)
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                await flush()
            }
        }
        await flush()
    }

    private func flush() async {
        guard !usage.unflushed.isEmpty else { return }
        let (usage, database) = (self.usage, self.database)
        do {
            try await blockingIO.run { try usage.flush(to: database) }
        } catch {
            logger.warning("could not record model uses: \(error)")
        }
    }
}
