#include "atmo_system.h"

#if defined(__linux__)
#include <features.h> /* defines __GLIBC__ on glibc */
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
