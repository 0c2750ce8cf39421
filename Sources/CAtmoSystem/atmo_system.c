#include "atmo_system.h"

#if defined(__linux__)
#include <features.h> /* defines __GLIBC__ on glibc */
#endif

#if defined(__linux__)
#include <sys/vfs.h>
#include <linux/magic.h>

int atmo_fd_is_tmpfs(int fd) {
    struct statfs info;
    return fstatfs(fd, &info) == 0 && info.f_type == TMPFS_MAGIC;
}
#else
int atmo_fd_is_tmpfs(int fd) {
    (void)fd;
    return 0;
}
#endif

#if defined(__GLIBC__)
#include <malloc.h>

int atmo_tune_malloc(int mmap_threshold, int arena_max) {
    int ok = 1;
    if (mmap_threshold > 0) ok = ok && mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1;
    if (arena_max > 0) ok = ok && mallopt(M_ARENA_MAX, arena_max) == 1;
    return ok;
}
#else
int atmo_tune_malloc(int mmap_threshold, int arena_max) {
    (void)mmap_threshold;
    (void)arena_max;
    return 0;
}
#endif
