import Foundation

/// A fresh folder under the system temp dir, removed by `remove()` or `withTemporaryDirectory`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "atmo-test") throws {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/\(prefix)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func sub(_ name: String) -> String { path + "/" + name }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs `body` with a temporary folder that is removed afterwards, whatever happens.
public func withTemporaryDirectory<T>(
    prefix: String = "atmo-test", _ body: (TemporaryDirectory) async throws -> T
) async throws -> T {
    let directory = try TemporaryDirectory(prefix: prefix)
    defer { directory.remove() }
    return try await body(directory)
}
