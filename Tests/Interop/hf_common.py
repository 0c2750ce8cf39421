"""Shared by the Hugging Face interop checkers (hf-cache, hf-pull, hub-endpoint).

A checker imports it from Tests/Interop, its parent folder:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from hf_common import report, exit_status, git_blob_id, write_repository

report(ok, what)      prints "ok - WHAT" or "FAIL - WHAT" and counts the failures
failure_count()       how many reports failed so far
exit_status()         1 if any report failed, else 0 (for sys.exit)
git_blob_id(data)     the git blob id (SHA-1 of "blob LEN\\0" + data): a small file's etag
write_repository(cache, repo_id, files, commit, refs=("main",))
                      writes a repository the way huggingface_hub lays out its cache:
                      blobs named by etag (SHA-256 for LFS files, the git blob id for the
                      rest), relative symlinks under snapshots/COMMIT, and refs holding the
                      commit without a newline; files maps path -> (bytes, is_lfs)
"""

import hashlib
import os

_failures = 0


def report(ok, what):
    global _failures
    print(("ok - " if ok else "FAIL - ") + what, flush=True)
    if not ok:
        _failures += 1


def failure_count():
    return _failures


def exit_status():
    return 1 if _failures else 0


def git_blob_id(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def write_repository(cache, repo_id, files, commit, refs=("main",)):
    folder = os.path.join(cache, "models--" + repo_id.replace("/", "--"))
    os.makedirs(os.path.join(folder, "blobs"), exist_ok=True)
    for path, (data, lfs) in files.items():
        etag = hashlib.sha256(data).hexdigest() if lfs else git_blob_id(data)
        blob = os.path.join(folder, "blobs", etag)
        with open(blob, "wb") as f:
            f.write(data)
        link = os.path.join(folder, "snapshots", commit, path)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.relpath(blob, os.path.dirname(link)), link)
    for ref in refs:
        ref_path = os.path.join(folder, "refs", ref)
        os.makedirs(os.path.dirname(ref_path), exist_ok=True)
        with open(ref_path, "w") as f:
            f.write(commit)
