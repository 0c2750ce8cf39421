import AtmoNode
import AtmoTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `node.json` is read by every `atmo` command on its state folder: a hostile one (huge,
/// a FIFO nobody writes) is no node's file, never a hang or the whole file in memory.
@Suite(.timeLimit(.minutes(2)))
struct LocalNodeFileReadTests {
    @Test func aNodeFileOfAReasonableSizeIsRead() throws {
        let folder = try TemporaryDirectory(prefix: "atmo-nodefile")
        defer { folder.remove() }
        let file = LocalNodeFile(host: "127.0.0.1", port: 14750, nodeID: "node-1")
        try file.write(stateDirectory: folder.path)
        #expect(LocalNodeFile.read(stateDirectory: folder.path) == file)
    }

    /// Valid JSON after a mebibyte of spaces: more than any node writes, so not read.
    @Test func aHugeNodeFileIsNoNodes() throws {
        let folder = try TemporaryDirectory(prefix: "atmo-nodefile")
        defer { folder.remove() }
        var data = Data(repeating: UInt8(ascii: " "), count: 1 << 20)
        data.append(try JSONEncoder().encode(LocalNodeFile(host: "127.0.0.1", port: 14750, nodeID: "node-1")))
        try data.write(to: URL(fileURLWithPath: LocalNodeFile.path(stateDirectory: folder.path)))
        #expect(LocalNodeFile.read(stateDirectory: folder.path) == nil)
    }

    /// A FIFO that nobody writes would block a plain read forever: `atmo downloads` says no
    /// node runs there, at once.
    @Test func aNodeFileThatIsAFIFOIsNoNodes() async throws {
        try await withAtmoSandbox(prefix: "atmo-nodefile") { sandbox in
            let state = sandbox.path("state")
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            #expect(mkfifo(LocalNodeFile.path(stateDirectory: state), 0o600) == 0)
            let shown = try await sandbox.run(["downloads", "--state-dir", state], name: "downloads", timeout: 30)
            #expect(shown.status == 3, "\(shown.stderr)")
            #expect(shown.stderr.contains("no node is running"), "\(shown.stderr)")
        }
    }
}
