import AtmoProtocol
import AtmoStore
import Logging
import ServiceLifecycle

/// Looks at the mesh for newer versions of the followed models every `interval`
/// (`NodeUpdates.check`), after adopting the configuration's follows.
struct UpdateService: Service {
    let updates: NodeUpdates
    let configured: [UpdatesAPI.FollowRequest]
    let interval: Duration
    let blockingIO: BlockingIO
    let logger: Logger

    func run() async throws {
        let (updates, configured) = (self.updates, self.configured)
        // Also when empty: entries removed from config.json are forgotten.
        do {
            try await blockingIO.run { updates.adopt(configured) }
        } catch {
            logger.warning("could not adopt the configured follows: \(error)")
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                do {
                    try await blockingIO.run { try updates.check() }
                } catch {
                    logger.warning("could not check followed models for updates: \(error)")
                }
            }
        }
    }
}
