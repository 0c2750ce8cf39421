import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small tmpfs mounted for one test, so a full disk is real: writes past its size fail
/// with ENOSPC. Needs root (and a kernel that lets this process mount); tests that use it
/// are enabled only when `isAvailable`.
public struct TmpfsMount: Sendable {
    public let path: String

    /// Whether this process can mount a tmpfs (Linux, root, allowed to mount), checked once.
    public static let isAvailable: Bool = {
        #if os(Linux)
            guard getuid() == 0 else { return false }
            let probe = NSTemporaryDirectory() + "/atmo-tmpfs-probe-\(getpid())"
            try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: probe) }
            guard run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe]) else { return false }
            _ = run(["umount", probe])
            return true
        #else
            return false
        #endif
    }()

    /// Mounts a tmpfs of `bytes` (rounded up to pages by the kernel) on `path` (created).
    public init(at path: String, bytes: Int64) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard Self.run(["mount", "-t", "tmpfs", "-o", "size=\(bytes),mode=0755", "tmpfs", path]) else {
            throw ProcessFailure(message: "cannot mount a tmpfs on \(path)")
        }
        self.path = path
    }

    /// Changes the size of the mounted tmpfs (to make room, or to take it away).
    public func resize(bytes: Int64) throws {
        guard Self.run(["mount", "-o", "remount,size=\(bytes)", path]) else {
            throw ProcessFailure(message: "cannot resize the tmpfs on \(path)")
        }
    }

    /// Unmounts it (lazily, so a descriptor still open elsewhere does not keep it busy).
    public func unmount() {
        _ = Self.run(["umount", "-l", path])
    }

    /// Runs `body` with a tmpfs of `bytes` mounted on `path`, unmounting it afterwards.
    public static func with<T>(at path: String, bytes: Int64, _ body: (TmpfsMount) async throws -> T) async throws -> T {
        let mount = try TmpfsMount(at: path, bytes: bytes)
        defer { mount.unmount() }
        return try await body(mount)
    }

    @discardableResult
    static func run(_ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
