#if defined(__linux__)
#define _GNU_SOURCE /* splice, F_SETPIPE_SZ */
#endif
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

#if defined(__linux__)
#include <errno.h>
#include <fcntl.h>

long long atmo_splice_socket_to_file(int source, int pipe_read, int pipe_write, int file, long long offset, long long count) {
    ssize_t in;
    do {
        in = splice(source, NULL, pipe_write, NULL, (size_t)count, SPLICE_F_MOVE);
    } while (in < 0 && errno == EINTR);
    if (in <= 0) return in < 0 ? -1 : 0;
    __loff_t at = (__loff_t)offset;
    ssize_t left = in;
    while (left > 0) {
        ssize_t out = splice(pipe_read, NULL, file, &at, (size_t)left, SPLICE_F_MOVE);
        if (out < 0) {
            if (errno == EINTR) continue;
            return -2;
        }
        if (out == 0) {
            errno = EIO;
            return -2;
        }
        left -= out;
    }
    return in;
}

int atmo_set_pipe_size(int fd, int size) {
    int set = fcntl(fd, F_SETPIPE_SZ, size);
    return set < 0 ? -errno : set;
}

#include <sys/mman.h>
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

int atmo_populate_read(void *address, size_t length) {
    int result;
    do {
        result = madvise(address, length, MADV_POPULATE_READ);
    } while (result != 0 && errno == EINTR);
    return result == 0 ? 0 : errno;
}
#else
#include <errno.h>

long long atmo_splice_socket_to_file(int source, int pipe_read, int pipe_write, int file, long long offset, long long count) {
    (void)source; (void)pipe_read; (void)pipe_write; (void)file; (void)offset; (void)count;
    errno = ENOSYS;
    return -1;
}

int atmo_set_pipe_size(int fd, int size) {
    (void)fd; (void)size;
    return -ENOSYS;
}

int atmo_populate_read(void *address, size_t length) {
    (void)address; (void)length;
    return ENOSYS;
}
#endif
