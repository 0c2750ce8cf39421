import AsyncHTTPClient
import Hummingbird
import Logging
import ServiceLifecycle

@testable import AtmoTransfer

/// Serves `router` on a free loopback port for as long as `work` runs, with a `PeerClient`
/// of it: the fake peers of the manifest and catalog tests.
func withRouterPeer<T: Sendable>(
    _ router: Router<BasicRequestContext>, name: String, _ work: @escaping @Sendable (PeerClient) async throws -> T
) async throws -> T {
    let quiet = Logger(label: name, factory: { _ in SwiftLogNoOpLogHandler() })
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let application = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: name),
        onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: quiet)
    var configuration = ServiceGroupConfiguration(services: [application], logger: quiet)
    configuration.maximumGracefulShutdownDuration = .seconds(1)
    let services = ServiceGroup(configuration: configuration)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            try await services.run()
            return nil
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        let client = PeerClient(baseURL: "http://127.0.0.1:\(port)", http: HTTPClient.shared, logger: quiet)
        let result: Result<T, any Error>
        do {
            result = .success(try await work(client))
        } catch {
            result = .failure(error)
        }
        await services.triggerGracefulShutdown()
        try await group.waitForAll()
        return try result.get()
    }
}
