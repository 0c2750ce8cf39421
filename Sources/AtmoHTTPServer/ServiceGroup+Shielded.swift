import ServiceLifecycle

extension ServiceGroup {
    /// Runs the group, turning cancellation of the caller's task into a graceful shutdown that
    /// is cut after `bound`. Cancelling a Hummingbird server outright can drop a connection it
    /// has accepted but not yet served, and NIO traps on that (apple/swift-nio#3481); a
    /// graceful shutdown closes the listening socket first. Used by `atmo serve` and `atmo relay`.
    package func runShieldedFromCancellation(cutAfter bound: Duration) async throws {
        let running = Task { try await self.run() }
        try await withTaskCancellationHandler {
            try await running.value
        } onCancel: {
            Task {
                await self.triggerGracefulShutdown()
                try? await Task.sleep(for: bound)
                running.cancel()
            }
        }
    }
}
