"""The Hub-compatible endpoint of `atmo serve`, checked with an unmodified huggingface_hub.

    hub_checks.py make-cache CACHE          writes a small repository in real formats (a
                                            safetensors file, a real config.json, a README,
                                            .gitattributes, a nested file) into a Hugging
                                            Face cache, laid out as huggingface_hub does
    hub_checks.py node-holds SRC NODE WHAT  the node's cache NODE holds the repository of SRC
    hub_checks.py make-big CACHE            writes atmo-test/big-model (a 24 MB safetensors)
    hub_checks.py check-big CACHE WORK      with HF_ENDPOINT set to a node mirroring it from a
                                            slow upstream: hf_hub_download gets the weights
                                            without one read timeout (HF_HUB_DOWNLOAD_TIMEOUT)
    hub_checks.py check CACHE WORK          with HF_ENDPOINT set to the node: downloads it
                                            with snapshot_download, hf_hub_download and the
                                            `hf download` CLI into fresh caches under WORK
                                            and compares every byte; missing repositories,
                                            revisions and files raise the Hub's errors

Prints "ok - ..." or "FAIL - ..." per check; exit status 1 if any failed.
"""

import hashlib
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from hf_common import exit_status, git_blob_id, report, write_repository  # noqa: E402

REPO = "atmo-test/tiny-model"
SOLO = "tiny-solo"

def repository_files():
    """path -> (bytes, is_lfs) of the test repository, made with the real packages."""
    import numpy as np
    from safetensors.numpy import save

    weights = save(
        {
            "transformer.wte.weight": np.arange(64 * 16, dtype=np.float32).reshape(64, 16),
            "transformer.ln_f.bias": np.zeros(16, dtype=np.float32),
        },
        metadata={"format": "np"},
    )
    config = {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "n_embd": 16,
        "n_head": 2,
        "n_layer": 1,
        "n_positions": 32,
        "vocab_size": 64,
        "torch_dtype": "float32",
    }
    return {
        ".gitattributes": (b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n", False),
        "README.md": (b"---\nlicense: mit\n---\n# tiny-model\nA test model of the atmo interop suite.\n", False),
        "config.json": (json.dumps(config, indent=2).encode() + b"\n", False),
        "model.safetensors": (weights, True),
        "tokenizer/vocab.txt": (b"".join(b"tok%d\n" % i for i in range(64)), False),
    }


TAG = "v1.0"
BIG = "atmo-test/big-model"


def tagged_files():
    """path -> (bytes, is_lfs) of the older revision the tag v1.0 names: another config."""
    files = repository_files()
    config = json.loads(files["config.json"][0])
    config["n_positions"] = 16
    return {
        "config.json": (json.dumps(config, indent=2).encode() + b"\n", False),
        "model.safetensors": files["model.safetensors"],
    }


def make_cache(cache):
    files = repository_files()
    write_repository(cache, REPO, files, hashlib.sha1(b"atmo tiny-model").hexdigest())
    write_repository(cache, REPO, tagged_files(), hashlib.sha1(b"atmo tiny-model v1.0").hexdigest(), refs=(TAG,))
    solo = {k: v for k, v in files.items() if k in ("config.json", "model.safetensors")}
    write_repository(cache, SOLO, solo, hashlib.sha1(b"atmo tiny-solo").hexdigest())
    print(f"ok - made {REPO} ({len(files)} files) and {SOLO} in {cache}")


def expected(cache, repo_id):
    """path -> bytes of the repository in the node's cache, and its commit."""
    folder = os.path.join(cache, "models--" + repo_id.replace("/", "--"))
    with open(os.path.join(folder, "refs", "main")) as f:
        commit = f.read()
    snapshot = os.path.join(folder, "snapshots", commit)
    files = {}
    for root, _, names in os.walk(snapshot):
        for name in names:
            full = os.path.join(root, name)
            with open(full, "rb") as f:
                files[os.path.relpath(full, snapshot)] = f.read()
    return files, commit


def same_tree(snapshot, files):
    got = {}
    for root, _, names in os.walk(snapshot):
        for name in names:
            full = os.path.join(root, name)
            with open(full, "rb") as f:
                got[os.path.relpath(full, snapshot)] = f.read()
    return got == files, sorted(set(got) ^ set(files))


def check(cache, work):
    from huggingface_hub import constants, hf_hub_download, scan_cache_dir, snapshot_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    endpoint = os.environ["HF_ENDPOINT"]
    report(constants.ENDPOINT == endpoint, f"huggingface_hub uses HF_ENDPOINT={endpoint}")
    files, commit = expected(cache, REPO)

    # snapshot_download: repo_info (revision main), the tree listing, HEAD + GET per file.
    fresh = os.path.join(work, "client-snapshot")
    path = snapshot_download(REPO, cache_dir=fresh)
    same, diff = same_tree(path, files)
    report(same, f"snapshot_download got every file of {REPO} with the right bytes {diff or ''}")
    report(os.path.basename(path) == commit, f"snapshot_download's snapshot is the node's commit {commit[:12]}")
    blobs = set(os.listdir(os.path.join(fresh, "models--atmo-test--tiny-model", "blobs")))
    etags = {hashlib.sha256(d).hexdigest() if p.endswith(".safetensors") else git_blob_id(d) for p, d in files.items()}
    report(blobs == etags, "the client named its blobs by the Hub's etags (sha256 for LFS, git blob id for the others)")
    info = scan_cache_dir(fresh)
    report(not info.warnings and len(info.repos) == 1, f"scan_cache_dir of the client's cache: no warnings {info.warnings}")

    # hf_hub_download: one file by ref and one by commit, into another fresh cache.
    fresh = os.path.join(work, "client-single")
    for name, revision in (("config.json", "main"), ("tokenizer/vocab.txt", commit), ("model.safetensors", None)):
        got = hf_hub_download(REPO, name, revision=revision, cache_dir=fresh)
        with open(got, "rb") as f:
            report(f.read() == files[name], f"hf_hub_download {name} (revision {revision or 'default'}): same bytes")

    # A revision other than main: the tag v1.0 names an older snapshot.
    tagged = {p: d for p, (d, _) in tagged_files().items()}
    tag_commit = hashlib.sha1(b"atmo tiny-model v1.0").hexdigest()
    fresh = os.path.join(work, "client-tag")
    path = snapshot_download(REPO, revision=TAG, cache_dir=fresh)
    same, diff = same_tree(path, tagged)
    report(same, f"snapshot_download {REPO} revision {TAG}: the tag's files, same bytes {diff or ''}")
    report(os.path.basename(path) == tag_commit, f"snapshot_download revision {TAG}: the tag's commit {tag_commit[:12]}")
    got = hf_hub_download(REPO, "config.json", revision=TAG, cache_dir=os.path.join(work, "client-tag-one"))
    report(open(got, "rb").read() == tagged["config.json"], f"hf_hub_download config.json revision {TAG}: the tag's bytes")

    # A repository without an org, and a local_dir download.
    solo, _ = expected(cache, SOLO)
    path = snapshot_download(SOLO, local_dir=os.path.join(work, "solo-dir"), cache_dir=os.path.join(work, "solo-cache"))
    got = {p: open(os.path.join(path, p), "rb").read() for p in solo}
    report(got == solo, f"snapshot_download {SOLO} (no org) into a local_dir: same bytes")

    # The CLI, unmodified (its output's format varies between versions: the check reads the
    # cache it wrote instead).
    def cli(*args, cache_dir):
        run = subprocess.run(["hf", "download", *args, "--cache-dir", cache_dir], capture_output=True, text=True)
        snapshot = os.path.join(cache_dir, "models--atmo-test--tiny-model", "snapshots", commit)
        return run, snapshot

    run, snapshot = cli(REPO, cache_dir=os.path.join(work, "client-cli"))
    same, diff = same_tree(snapshot, files) if run.returncode == 0 else (False, [run.stderr[-500:]])
    report(same, f"hf download {REPO}: every file with the right bytes {diff or ''}")
    run, snapshot = cli(REPO, "config.json", cache_dir=os.path.join(work, "client-cli-one"))
    same, diff = same_tree(snapshot, {"config.json": files["config.json"]}) if run.returncode == 0 else (False, [run.stderr[-500:]])
    report(same, f"hf download {REPO} config.json: that file alone, same bytes {diff or ''}")
    run = subprocess.run(["hf", "download", "atmo-test/nope", "--cache-dir", os.path.join(work, "client-cli-nope")], capture_output=True, text=True)
    report(run.returncode != 0 and "not found" in (run.stderr + run.stdout).lower(), "hf download of a missing repository fails with 'not found'")

    # Misses: the Hub's own errors.
    fresh = os.path.join(work, "client-misses")
    for what, call, error in (
        ("snapshot_download of a missing repository", lambda: snapshot_download("atmo-test/nope", cache_dir=fresh), RepositoryNotFoundError),
        ("hf_hub_download of a missing repository", lambda: hf_hub_download("nope", "config.json", cache_dir=fresh), RepositoryNotFoundError),
        ("hf_hub_download of a missing file", lambda: hf_hub_download(REPO, "nope.bin", cache_dir=fresh), EntryNotFoundError),
        ("hf_hub_download of a missing revision", lambda: hf_hub_download(REPO, "config.json", revision="v9", cache_dir=fresh), RevisionNotFoundError),
        ("snapshot_download of a missing revision", lambda: snapshot_download(REPO, revision="v9", cache_dir=fresh), RevisionNotFoundError),
    ):
        try:
            call()
            report(False, f"{what} raises {error.__name__} (it returned)")
        except error:
            report(True, f"{what} raises {error.__name__}")
        except Exception as other:  # noqa: BLE001 - the check reports what came instead
            report(False, f"{what} raises {error.__name__} (got {type(other).__name__}: {str(other)[:200]})")


def make_big(cache):
    import numpy as np
    from safetensors.numpy import save

    weights = save({"w": np.random.default_rng(7).standard_normal(6 * 1024 * 1024).astype(np.float32)})
    files = {"config.json": (b'{"model_type": "gpt2"}\n', False), "model.safetensors": (weights, True)}
    write_repository(cache, BIG, files, hashlib.sha1(b"atmo big-model").hexdigest())
    print(f"ok - made {BIG} ({len(weights)} bytes of weights) in {cache}")


def check_big(cache, work):
    """The weights through a node mirroring them from a slow upstream: no read timeout."""
    import logging

    from huggingface_hub import constants, hf_hub_download

    warnings = []

    class Collect(logging.Handler):
        def emit(self, record):
            warnings.append(record.getMessage())

    logging.getLogger("huggingface_hub.file_download").addHandler(Collect(level=logging.WARNING))
    files, _ = expected(cache, BIG)
    started = time.monotonic()
    got = hf_hub_download(BIG, "model.safetensors", cache_dir=os.path.join(work, "client-big"))
    seconds = time.monotonic() - started
    report(open(got, "rb").read() == files["model.safetensors"], f"hf_hub_download {BIG} model.safetensors: same bytes ({seconds:.1f} s)")
    retries = [w for w in warnings if "resume" in w.lower() or "error while downloading" in w.lower()]
    report(not retries, f"no read timeout of {constants.HF_HUB_DOWNLOAD_TIMEOUT} s on the way {retries[:2]}")


def node_holds(source_cache, node_cache, what):
    """The node's own cache holds the repository as the source has it (a fetched or mirrored
    copy is complete, and scan_cache_dir finds nothing wrong in it)."""
    from huggingface_hub import scan_cache_dir

    files, commit = expected(source_cache, REPO)
    folder = os.path.join(node_cache, "models--atmo-test--tiny-model")
    same, diff = same_tree(os.path.join(folder, "snapshots", commit), files)
    report(same, f"{what}: the node's own cache now holds every file of {REPO} {diff or ''}")
    ref = os.path.join(folder, "refs", "main")
    report(os.path.isfile(ref) and open(ref).read() == commit, f"{what}: refs/main names {commit[:12]}")
    info = scan_cache_dir(node_cache)
    report(not info.warnings, f"{what}: scan_cache_dir of the node's cache: no warnings {info.warnings}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make-cache":
        make_cache(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "make-big":
        make_big(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "check-big":
        check_big(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "node-holds":
        node_holds(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        print(__doc__)
        sys.exit(2)
    sys.exit(exit_status())
