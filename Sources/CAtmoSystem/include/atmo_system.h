#ifndef ATMO_SYSTEM_H
#define ATMO_SYSTEM_H

/// glibc's malloc tuning, which Swift's Glibc module does not export (malloc.h).
/// A value <= 0 leaves that setting alone. Returns 1 when the settings were applied, 0
/// elsewhere or on failure.
int atmo_tune_malloc(int mmap_threshold, int arena_max);

#endif
