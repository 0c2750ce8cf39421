import AtmoNode
import AtmoProtocol
import Foundation
import NIOCore

extension LocalNodeClient {
    /// What `{state}/node.json` leads to now.
    enum Lookup: Sendable {
        /// A node that answers `/health` as the one the file names.
        case found(LocalNodeClient)
        /// No node; why, in words for the person at the terminal (of the file's content only
        /// a short, printable excerpt).
        case none(String)
    }

    /// Reads `node.json` of `stateDirectory` and asks the node it names for its `/health`
    /// (within `healthTimeout`). A file that is missing, unreadable, of a process that is gone,
    /// naming no http(s) URL, or a URL that answers as no node (or another one) is `.none`.
    /// With `nodeID`, a file that names another node is `.none` too: a node of the same state
    /// folder always has the same id (its `node.key`).
    static func lookUp(stateDirectory: String, nodeID: String? = nil, healthTimeout: TimeAmount = .seconds(15)) async -> Lookup {
        let path = LocalNodeFile.path(stateDirectory: stateDirectory)
        guard FileManager.default.fileExists(atPath: path) else { return .none("no node runs on \(stateDirectory) (no \(path))") }
        guard let file = LocalNodeFile.read(stateDirectory: stateDirectory) else {
            return .none("\(path) names no running node (its process is gone, or it is not a node's file)")
        }
        let named = "\(shown(file.baseURL)) (named by \(path))"
        if let nodeID, file.nodeID != nodeID {
            return .none("\(named) is another node (\(shown(file.nodeID)), not \(shown(nodeID)) that runs the download)")
        }
        guard file.baseURL.hasPrefix("http://") || file.baseURL.hasPrefix("https://") else {
            return .none("\(named) is not an http URL")
        }
        let client = LocalNodeClient(file: file, stateDirectory: stateDirectory)
        do {
            // A node's /health is under 1 KiB: 64 KiB is plenty, and a huge answer is no node's.
            let health = try await client.get(HTTPAPI.healthPath, as: HTTPAPI.Health.self, timeout: healthTimeout, limit: 64 * 1024)
            guard health.nodeID == file.nodeID else { return .none("\(named) answers as another node") }
        } catch {
            return .none("\(named) does not answer as a node: \(shown("\(error)"))")
        }
        return .found(client)
    }

    /// `lookUp` again for the folder that named this node, after nothing answered at its
    /// address (a node restarted on port 0 writes its new one there). Only this node counts
    /// (the same id): a file naming another is none, whatever that node says of the download.
    /// A node that does not answer `/health` in 5 s counts as none: the follower's retries stay short.
    func lookUpAgain() async -> Lookup {
        guard let stateDirectory else { return .none("nothing answers at \(Self.shown(file.baseURL))") }
        return await Self.lookUp(stateDirectory: stateDirectory, nodeID: file.nodeID, healthTimeout: .seconds(5))
    }

    /// `text` as it may be printed (`TerminalText.clean`).
    static func shown(_ text: String) -> String { TerminalText.clean(text) }
}
