import AtmoProtocol
import AtmoStore
import Foundation

/// `{state}/node.json`: how `atmo` commands find the node that runs on the same state
/// folder, so they act through it (its mesh view, its download queue) instead of alone.
/// Written atomically when the server accepts connections, removed when it stops; a file
/// left by a killed node is recognised by its dead pid or by a `/health` with another id.
public struct LocalNodeFile: Sendable, Hashable, Codable {
    /// The node's process.
    public var pid: Int32
    /// Where this machine reaches the node's HTTP API, e.g. `http://127.0.0.1:14750`.
    public var baseURL: String
    /// The node's id, checked against its `/health` before it is trusted.
    public var nodeID: String
    /// Unix epoch milliseconds.
    public var startedAt: Int64

    enum CodingKeys: String, CodingKey {
        case pid
        case baseURL = "base_url"
        case nodeID = "node_id"
        case startedAt = "started_at"
    }

    /// A record of this process serving on `port` of `host` (`0.0.0.0`/`::` mean loopback).
    public init(host: String, port: Int, nodeID: String, pid: Int32 = getpid(), startedAt: Date = Date()) {
        self.pid = pid
        self.baseURL = "http://\(Self.localAddress(forBoundHost: host)):\(port)"
        self.nodeID = nodeID
        self.startedAt = Int64(startedAt.timeIntervalSince1970 * 1000)
    }

    public static func path(stateDirectory: String) -> String { stateDirectory + "/node.json" }

    /// The file of a node that may still run; nil when there is none or its process is gone.
    /// Reads at most 64 KiB, without blocking (a huge file, a FIFO or a device is no node's).
    public static func read(stateDirectory: String) -> LocalNodeFile? {
        guard let file = decoded(stateDirectory: stateDirectory), file.pid > 0 else { return nil }
        // kill(pid, 0) fails with ESRCH once the process is gone (EPERM: alive, someone else's).
        guard kill(file.pid, 0) == 0 || errno == EPERM else { return nil }
        return file
    }

    /// The record in the file, read at most 64 KiB without blocking; nil for anything else.
    static func decoded(stateDirectory: String) -> LocalNodeFile? {
        let bytes = FormatSniffer.readHeader(path: path(stateDirectory: stateDirectory), maxBytes: 64 * 1024 + 1)
        guard bytes.count <= 64 * 1024 else { return nil }
        return try? JSONDecoder().decode(LocalNodeFile.self, from: Data(bytes))
    }

    public func write(stateDirectory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try FileIO.writeAtomically(try encoder.encode(self), to: Self.path(stateDirectory: stateDirectory))
    }

    /// Removes the file if it is still this record (a newer node may have replaced it), read
    /// as `read` reads it (at most 64 KiB, without blocking).
    public func remove(stateDirectory: String) {
        guard Self.decoded(stateDirectory: stateDirectory) == self else { return }
        try? FileManager.default.removeItem(atPath: Self.path(stateDirectory: stateDirectory))
    }

    static func localAddress(forBoundHost host: String) -> String {
        switch host {
        case "0.0.0.0", "": return "127.0.0.1"
        case "::", "[::]": return "[::1]"
        default: return host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        }
    }
}
