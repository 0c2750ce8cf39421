import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which boot of the machine this is: a resume trusts the pieces written without an fsync
/// only within the boot that wrote them (the page cache still holds them).
enum BootID {
    /// This boot's id: Linux's `/proc/sys/kernel/random/boot_id`; on Darwin the
    /// `kern.bootsessionuuid` sysctl, else the boot time. When none can be read, an id of
    /// this process alone, so that nothing unsynced is ever trusted across processes.
    static var current: String {
        #if os(Linux)
        if let text = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) {
            let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !id.isEmpty { return id }
        }
        #elseif canImport(Darwin)
        if let id = darwinSessionUUID() { return id }
        if let time = darwinBootTime() { return "boottime-\(time)" }
        #endif
        return unknown
    }

    /// Stands for a boot that cannot be told apart: unique to this process.
    static let unknown = "unknown-boot-\(UUID().uuidString)"

    #if canImport(Darwin)
    private static func darwinSessionUUID() -> String? {
        var size = 0
        guard sysctlbyname("kern.bootsessionuuid", nil, &size, nil, 0) == 0, size > 1 else { return nil }
        var bytes = [UInt8](repeating: 0, count: size)
        guard sysctlbyname("kern.bootsessionuuid", &bytes, &size, nil, 0) == 0 else { return nil }
        let id = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        return id.isEmpty ? nil : id
    }

    private static func darwinBootTime() -> String? {
        var time = timeval()
        var size = MemoryLayout<timeval>.size
        guard sysctlbyname("kern.boottime", &time, &size, nil, 0) == 0, time.tv_sec > 0 else { return nil }
        return "\(time.tv_sec).\(time.tv_usec)"
    }
    #endif
}
