"""`atmo pull org/name` into a Hugging Face cache, checked with the real huggingface_hub.

    hf_pull_checks.py make-cache CACHE           writes the test repository (safetensors
                                                 weights, a real config.json, tokenizer
                                                 files, a nested onnx/model.onnx) into a
                                                 Hugging Face cache the way huggingface_hub
                                                 lays it out
    hf_pull_checks.py check-full CACHE SOURCE    with HF_HUB_OFFLINE=1: snapshot_download
                                                 returns the snapshot, hf_hub_download finds
                                                 every file with SOURCE's bytes, and
                                                 scan_cache_dir reports no warnings
    hf_pull_checks.py check-only CACHE SOURCE PATH...
                                                 only these files were installed, with the
                                                 right bytes, and the cache scans clean
    hf_pull_checks.py check-json RESULT OUTCOME  the --json result line: every file has
                                                 this outcome

Prints "ok - ..." or "FAIL - ..." per check; exit status 1 if any failed.
"""

import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from hf_common import exit_status, git_blob_id, report, write_repository  # noqa: E402

REPO = "atmo-test/tiny-repo"
REVISION = "5d1e7a0f3c2b4a6980e1d2c3b4a5f60718293a4b"

def repository_files():
    """path -> (bytes, is_lfs): made with the real packages where there is one."""
    import numpy as np
    from safetensors.numpy import save

    # About 3 MiB of weights: more than one 2 MiB piece of a pull.
    weights = save(
        {
            "embed.weight": np.arange(384 * 2048, dtype=np.float32).reshape(384, 2048),
            "norm.bias": np.zeros(2048, dtype=np.float32),
        },
        metadata={"format": "np"},
    )
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": 32,
        "num_attention_heads": 2,
        "num_hidden_layers": 1,
        "intermediate_size": 64,
        "vocab_size": 40,
        "torch_dtype": "float32",
    }
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"tok{i}" for i in range(35)]
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [],
        "normalizer": {"type": "BertNormalizer", "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {t: i for i, t in enumerate(vocab)}},
    }
    tokenizer_config = {"model_max_length": 32, "do_lower_case": True, "tokenizer_class": "BertTokenizer"}
    onnx = b"\x08\x07\x12\x07pytorch" + bytes(range(256)) * 600
    return {
        ".gitattributes": (b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.onnx filter=lfs diff=lfs merge=lfs -text\n", False),
        "README.md": (b"# tiny-repo\n\nA test repository of atmo's hf-pull suite.\n", False),
        "config.json": ((json.dumps(config, indent=2) + "\n").encode(), False),
        "tokenizer.json": (json.dumps(tokenizer).encode(), False),
        "tokenizer_config.json": (json.dumps(tokenizer_config).encode(), False),
        "vocab.txt": (("\n".join(vocab) + "\n").encode(), False),
        "src/__init__.py": (b"", False),
        "model.safetensors": (weights, True),
        "onnx/model.onnx": (onnx, True),
    }


def make_cache(cache):
    write_repository(cache, REPO, repository_files(), REVISION)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def source_bytes(source, path):
    return read(os.path.join(source, "models--" + REPO.replace("/", "--"), "snapshots", REVISION, path))


def check_layout(cache, paths, source):
    """Every path a relative symlink into blobs/, named by its etag, with the right bytes."""
    snapshot = os.path.join(cache, "models--" + REPO.replace("/", "--"), "snapshots", REVISION)
    for path in paths:
        pointer = os.path.join(snapshot, path)
        data = source_bytes(source, path)
        ok = os.path.islink(pointer) and not os.path.isabs(os.readlink(pointer))
        target = os.path.basename(os.readlink(pointer)) if os.path.islink(pointer) else ""
        lfs = path.endswith((".safetensors", ".onnx"))
        etag = hashlib.sha256(data).hexdigest() if lfs else git_blob_id(data)
        report(ok and target == etag and read(pointer) == data, f"{path} is a relative symlink to blobs/{etag[:12]}... with the right bytes")
    ref = os.path.join(cache, "models--" + REPO.replace("/", "--"), "refs", "main")
    report(os.path.isfile(ref) and read(ref) == REVISION.encode(), "refs/main holds the revision, no newline")
    leftovers = [n for n in os.listdir(os.path.join(os.path.dirname(os.path.dirname(snapshot)), "blobs")) if n.startswith(".")]
    report(not leftovers, f"no temporary files left in blobs/ ({leftovers})")


def check_scan(cache, expected_paths):
    from huggingface_hub import scan_cache_dir

    info = scan_cache_dir(cache)
    report(not info.warnings, f"scan_cache_dir reports no warnings ({[str(w) for w in info.warnings]})")
    repos = [r for r in info.repos if r.repo_id == REPO]
    files = sorted(str(f.file_path.relative_to(rev.snapshot_path)) for r in repos for rev in r.revisions for f in rev.files)
    report(files == sorted(expected_paths), f"scan_cache_dir lists exactly the pulled files ({files})")
    refs = [ref for r in repos for rev in r.revisions for ref in rev.refs]
    report("main" in refs, f"scan_cache_dir sees ref main ({refs})")


def check_full(cache, source):
    from huggingface_hub import hf_hub_download, snapshot_download

    paths = sorted(repository_files())
    expected = os.path.join(cache, "models--" + REPO.replace("/", "--"), "snapshots", REVISION)
    try:
        got = snapshot_download(REPO, cache_dir=cache)
        report(os.path.realpath(got) == os.path.realpath(expected), f"snapshot_download returns the snapshot ({got})")
    except Exception as error:  # noqa: BLE001 - reported
        report(False, f"snapshot_download failed offline: {error!r}")
    for path in paths:
        try:
            local = hf_hub_download(REPO, path, cache_dir=cache)
            report(read(local) == source_bytes(source, path), f"hf_hub_download finds {path} with the right bytes")
        except Exception as error:  # noqa: BLE001 - reported
            report(False, f"hf_hub_download({path}) failed offline: {error!r}")
    check_layout(cache, paths, source)
    check_scan(cache, paths)


def check_only(cache, source, paths):
    from huggingface_hub import hf_hub_download

    snapshot = os.path.join(cache, "models--" + REPO.replace("/", "--"), "snapshots", REVISION)
    present = sorted(
        os.path.relpath(os.path.join(root, name), snapshot) for root, _, names in os.walk(snapshot) for name in names
    )
    report(present == sorted(paths), f"only {sorted(paths)} were installed ({present})")
    for path in paths:
        try:
            report(read(hf_hub_download(REPO, path, cache_dir=cache)) == source_bytes(source, path), f"hf_hub_download finds {path}")
        except Exception as error:  # noqa: BLE001 - reported
            report(False, f"hf_hub_download({path}) failed offline: {error!r}")
    check_layout(cache, paths, source)
    check_scan(cache, paths)


def check_json(result_path, outcome):
    lines = [json.loads(line) for line in open(result_path) if line.strip().startswith("{")]
    results = [line for line in lines if line.get("type") == "repository_pull_result"]
    report(len(results) == 1, "the pull printed one repository_pull_result line")
    if results:
        outcomes = sorted({f["outcome"] for f in results[0]["files"]})
        report(outcomes == [outcome], f"every file is {outcome} ({outcomes})")


def main():
    command = sys.argv[1]
    if command == "make-cache":
        make_cache(sys.argv[2])
        return
    if command == "check-full":
        check_full(sys.argv[2], sys.argv[3])
    elif command == "check-only":
        check_only(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif command == "check-json":
        check_json(sys.argv[2], sys.argv[3])
    sys.exit(exit_status())


if __name__ == "__main__":
    main()
