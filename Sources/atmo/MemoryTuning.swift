import CAtmoSystem
import Foundation

/// Keeps the process's memory flat while it streams large files.
///
/// glibc gives every thread that allocates its own heap arena (up to 8 per core), and each
/// arena keeps the transfer buffers freed into it: with 8 concurrent downloads `atmo serve`
/// held ~25 MiB of live buffers but ~80 MiB of arenas. One arena keeps the peak near what
/// is really in use at no measurable cost in speed (a buffer is allocated per 512 KiB
/// read, so the arena lock is rarely contended). The mmap threshold is left to glibc (0):
/// any fixed one (1 MiB or 8 MiB tried) also fixes the trim threshold at twice its value,
/// and a pull's 4 MiB pieces then cost page faults again and again (a 1 GiB pull took
/// 2.2-4.9 s instead of 1.5 s). `ATMO_MALLOC_MMAP_THRESHOLD` and `ATMO_MALLOC_ARENAS`
/// override the defaults (0 = leave glibc's); docs/BENCHMARKS.md has the measurements.
/// A no-op on other C libraries.
enum MemoryTuning {
    static let defaultMmapThreshold: Int32 = 0
    static let defaultArenas: Int32 = 1

    static func apply(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let threshold = environment["ATMO_MALLOC_MMAP_THRESHOLD"].flatMap { Int32($0) } ?? defaultMmapThreshold
        let arenas = environment["ATMO_MALLOC_ARENAS"].flatMap { Int32($0) } ?? defaultArenas
        guard threshold > 0 || arenas > 0 else { return }
        _ = atmo_tune_malloc(threshold, arenas)
    }
}
