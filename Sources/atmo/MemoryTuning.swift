import CAtmoSystem
import Foundation

/// Keeps the process's memory flat while it streams large files.
///
/// glibc gives every thread that allocates its own heap arena (up to 8 per core), and each
/// arena keeps the transfer buffers freed into it: with 8 concurrent downloads `atmo serve`
/// held ~25 MiB of live buffers but ~80 MiB of arenas. One arena keeps the peak near what
/// is really in use at no measurable cost in speed (a buffer is allocated per 512 KiB
/// read, so the arena lock is rarely contended). A fixed 1 MiB mmap threshold keeps those
/// 512 KiB serving buffers on the heap (fast to reuse) while the 4 MiB pieces of a pull
/// are mapped and unmapped whole, so they never stay behind in the arena; glibc's own
/// sliding threshold would put the pieces on the heap after the first one is freed.
/// `ATMO_MALLOC_MMAP_THRESHOLD` and `ATMO_MALLOC_ARENAS` override the defaults (0 = leave
/// glibc's); docs/BENCHMARKS.md has the measurements. A no-op on other C libraries.
enum MemoryTuning {
    static let defaultMmapThreshold: Int32 = 1 << 20
    static let defaultArenas: Int32 = 1

    static func apply(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let threshold = environment["ATMO_MALLOC_MMAP_THRESHOLD"].flatMap { Int32($0) } ?? defaultMmapThreshold
        let arenas = environment["ATMO_MALLOC_ARENAS"].flatMap { Int32($0) } ?? defaultArenas
        guard threshold > 0 || arenas > 0 else { return }
        _ = atmo_tune_malloc(threshold, arenas)
    }
}
