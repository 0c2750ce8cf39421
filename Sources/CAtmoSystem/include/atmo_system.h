#ifndef ATMO_SYSTEM_H
#define ATMO_SYSTEM_H

/// glibc's malloc tuning, which Swift's Glibc module does not export (malloc.h).
/// A value <= 0 leaves that setting alone. Returns 1 when the settings were applied, 0
/// elsewhere or on failure.
int atmo_tune_malloc(int mmap_threshold, int arena_max);

/// Whether the file open as `fd` lives on tmpfs (statfs's f_type, which Swift's Glibc
/// module does not export: sys/vfs.h). 1 yes, 0 no or elsewhere.
int atmo_fd_is_tmpfs(int fd);

#endif
