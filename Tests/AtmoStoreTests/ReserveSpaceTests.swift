import Foundation
import Testing

@testable import AtmoStore

/// `FileIO.reserve`: a full file system shows up before a transfer. On tmpfs the free space
/// is checked instead of allocating every page up front.
struct ReserveSpaceTests {
    static let tmpfs = "/dev/shm"

    static var onTmpfs: Bool {
        #if os(Linux)
        return (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8))?.split(separator: "\n")
            .contains { $0.split(separator: " ").dropFirst().first == "/dev/shm" && $0.split(separator: " ").dropFirst(2).first == "tmpfs" }
            ?? false
        #else
        return false
        #endif
    }

    @Test(.enabled(if: onTmpfs, "needs /dev/shm on tmpfs"))
    func onTmpfsNothingIsAllocatedAndTooMuchIsRefused() throws {
        let path = Self.tmpfs + "/atmo-reserve-test-\(getpid())"
        defer { unlink(path) }
        let fd = try FileIO.open(path, flags: O_RDWR | O_CREAT | O_TRUNC)
        defer { FileIO.close(fd) }
        try FileIO.reserve(fd, size: 64 * 1024 * 1024, path: path)
        var info = stat()
        #expect(fstat(fd, &info) == 0)
        #expect(info.st_blocks == 0, "no page was allocated up front")
        // More than any machine's memory and swap.
        #expect(throws: StoreError.self) { try FileIO.reserve(fd, size: 1 << 60, path: path) }
    }
}
