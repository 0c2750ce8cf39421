import AtmoNode
import AtmoTesting
import Foundation
import Testing

/// A stopping node removes `node.json` only if it is still its own record, read as `read`
/// reads it: at most 64 KiB (a huge file is no node's, never decoded whole).
@Suite(.timeLimit(.minutes(1)))
struct LocalNodeFileRemoveTests {
    @Test func theNodesOwnFileIsRemoved() throws {
        let folder = try TemporaryDirectory(prefix: "atmo-nodefile")
        defer { folder.remove() }
        let file = LocalNodeFile(host: "127.0.0.1", port: 14750, nodeID: "node-1")
        try file.write(stateDirectory: folder.path)
        file.remove(stateDirectory: folder.path)
        #expect(!FileManager.default.fileExists(atPath: LocalNodeFile.path(stateDirectory: folder.path)))
    }

    /// The node's own record after a mebibyte of spaces: more than any node writes, so left alone.
    @Test func aHugeFileIsNotDecodedWhole() throws {
        let folder = try TemporaryDirectory(prefix: "atmo-nodefile")
        defer { folder.remove() }
        let file = LocalNodeFile(host: "127.0.0.1", port: 14750, nodeID: "node-1")
        var data = Data(repeating: UInt8(ascii: " "), count: 1 << 20)
        data.append(try JSONEncoder().encode(file))
        let path = LocalNodeFile.path(stateDirectory: folder.path)
        try data.write(to: URL(fileURLWithPath: path))
        file.remove(stateDirectory: folder.path)
        #expect(FileManager.default.fileExists(atPath: path))
    }
}
