import Dispatch

/// Runs blocking file work (hashing, reads, fsync) on a dedicated concurrent queue so it
/// never occupies Swift's cooperative pool or a NIO event loop.
package enum BlockingIO {
    private static let queue = DispatchQueue(label: "atmo.blocking-io", qos: .utility, attributes: .concurrent)

    package static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try work() })
            }
        }
    }
}
