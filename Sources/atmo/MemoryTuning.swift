import CAtmoSystem

/// Keeps the process's memory flat while it streams large files.
///
/// glibc raises its mmap threshold every time a large buffer is freed, after which the 1-4
/// MiB transfer buffers come from per-thread heap arenas that never give memory back: with
/// 8 concurrent downloads `atmo serve` peaked at 370 MiB instead of ~60. A fixed threshold
/// (buffers of 256 KiB and more are mmapped and unmapped on free) and two arenas keep the
/// peak near what is really in use. Measured by `bench/run.sh`; see docs/BENCHMARKS.md.
/// A no-op on other C libraries.
enum MemoryTuning {
    static func apply() {
        _ = atmo_tune_malloc(256 * 1024, 2)
    }
}
