import AtmoStore
import Foundation

/// A model file open for one transfer (an HTTP body or a relayed transfer), checked to be
/// the version the inventory hashed. Closed when the last holder lets go, so a read still
/// running on a file thread never reads a descriptor closed (or reused) under it.
final class OpenModelFile: Sendable {
    let fd: Int32
    let path: String
    /// Size, mtime, inode and device when the inventory hashed the file.
    let hashedStat: FileIO.Stat

    init(_ item: InventoryItem) throws {
        let fd = try FileIO.open(item.path, flags: O_RDONLY)
        do {
            let stat = try FileIO.fstat(fd)
            guard stat == item.stat else {
                throw StoreError(.conflict, "\(item.entry.modelID) changed on disk since it was hashed")
            }
        } catch {
            FileIO.close(fd)
            throw error
        }
        self.fd = fd
        path = item.path
        hashedStat = item.stat
    }

    /// Whether the file is still the one that was hashed.
    var isUnchanged: Bool { (try? FileIO.fstat(fd)) == hashedStat }

    deinit { FileIO.close(fd) }

    /// Exactly `length` bytes at `offset` (blocking: call on a file thread).
    func read(offset: Int64, length: Int64) throws -> Data {
        var data = Data(count: Int(length))
        let got = try data.withUnsafeMutableBytes { raw throws(StoreError) in
            try FileIO.pread(fd, into: raw, offset: offset, path: path)
        }
        guard got == Int(length) else { throw StoreError(.corrupt, "\(path) is shorter than its hashed size") }
        return data
    }
}
