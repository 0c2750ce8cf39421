import AtmoNode
import AtmoTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A model file rewritten while it is being served: the body ends short, so the client can
/// never take a complete body that mixes two versions of the file. Most of such a body goes
/// out as file regions the kernel reads after the pump's last look (`FileBodyPump`), so the
/// change check after each region and the held-back last chunk are what stand in the way.
struct FileBodyChangeTests {
    /// Far more than loopback's socket buffers hold, so most of the body is still to be sent
    /// when the file changes.
    static let size = 32 * 1024 * 1024

    /// With `sendfile` (file regions) and without (every chunk read and checked).
    @Test(arguments: [true, false])
    func aFileRewrittenMidBodyEndsTheBodyShort(sendfile: Bool) async throws {
        try await withFixtureNode(extra: [("big.gguf", Self.size)], configure: { $0.sendfile = sendfile }) { node, fixture in
            let port = node.port
            let path = fixture.path("big.gguf")
            let received = try await RawHTTP.blocking { () -> Int in
                let connection = try RawHTTP.Connection(port: port, timeout: 60)
                defer { connection.close() }
                try connection.write(RawHTTP.request("GET", "/v1/models/download/big.gguf"))
                let head = try connection.readHead()
                guard head.status == 200 else { throw RawHTTP.Failure(description: "status \(head.status)") }
                let first = try connection.readBytes(256 * 1024)
                // Same size, other bytes at the end: only the change check can tell.
                try Self.overwriteTail(of: path, bytes: 1024 * 1024)
                return first.count + (try connection.readUntilClosed()).count
            }
            #expect(received < Self.size, "a complete body was sent after the file changed under it")
            // The next request is answered from the rescanned file, whole.
            let settled = try await eventually(timeout: .seconds(30)) {
                let answer = try await Client.get(node.baseURL + "/v1/models/download/big.gguf")
                let now = try fixture.bytes("big.gguf")
                return answer.status == 200 && answer.body == now
            }
            #expect(settled)
        }
    }

    private static func overwriteTail(of path: String, bytes: Int) throws {
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { throw RawHTTP.Failure(description: "open \(path): errno \(errno)") }
        defer { close(fd) }
        let junk = [UInt8](repeating: 0xA5, count: bytes)
        let wrote = junk.withUnsafeBytes { pwrite(fd, $0.baseAddress, bytes, off_t(size - bytes)) }
        guard wrote == bytes else { throw RawHTTP.Failure(description: "pwrite: \(wrote), errno \(errno)") }
    }
}
