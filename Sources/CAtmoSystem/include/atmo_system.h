#ifndef ATMO_SYSTEM_H
#define ATMO_SYSTEM_H

#include <stddef.h>

/// glibc's malloc tuning, which Swift's Glibc module does not export (malloc.h).
/// A value <= 0 leaves that setting alone. Returns 1 when the settings were applied, 0
/// elsewhere or on failure.
int atmo_tune_malloc(int mmap_threshold, int arena_max);

/// Whether the file open as `fd` lives on tmpfs (statfs's f_type, which Swift's Glibc
/// module does not export: sys/vfs.h). 1 yes, 0 no or elsewhere.
int atmo_fd_is_tmpfs(int fd);

/// Moves up to `count` bytes from the socket `source` into `file` at `offset`, through the
/// pipe `pipe_read`/`pipe_write`, with no copy through user space (splice(2), twice). Returns
/// the bytes moved (all of them are in the file), 0 at the socket's end, -1 when reading the
/// socket failed (errno: EAGAIN when its receive timeout passed with nothing), -2 when
/// writing the file failed (errno; bytes may be left in the pipe: the caller drops the
/// connection). -1 with errno ENOSYS where there is no splice.
long long atmo_splice_socket_to_file(int source, int pipe_read, int pipe_write, int file, long long offset, long long count);

/// Sets the capacity of the pipe open as `fd` (F_SETPIPE_SZ). Returns the capacity it has
/// now, or -errno (-ENOSYS where pipes cannot be resized).
int atmo_set_pipe_size(int fd, int size);

/// Faults in every page of the file mapping [address, address + length) for reading
/// (madvise MADV_POPULATE_READ, Linux 5.14), so that a read error, or a range past the file's
/// end, comes back here as an errno (EFAULT, EIO, ...) instead of a SIGBUS when the pages are
/// first touched. Returns 0, or the errno; EINVAL where the kernel has no such advice, ENOSYS
/// elsewhere.
int atmo_populate_read(void *address, size_t length);

#endif
