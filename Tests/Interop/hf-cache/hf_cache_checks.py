"""The scan of a Hugging Face cache by `atmo serve`, against huggingface_hub's own scan.

    hf_cache_checks.py make CACHE          builds a cache of three small repositories in real
                                           formats, laid out as huggingface_hub lays it out
    hf_cache_checks.py check CACHE URL     compares the node's GET /v1/repositories (and
                                           /v1/models, downloads) with scan_cache_dir(CACHE)

Prints one line per check ("ok - ..." / "FAIL - ..."); exits 1 when one fails.
"""

import hashlib
import json
import os
import struct
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from hf_common import exit_status, git_blob_id, report, write_repository as write_hf_repository  # noqa: E402

import numpy as np
from safetensors.numpy import save_file

LFS_SUFFIXES = (".safetensors", ".gguf", ".bin", ".onnx")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# --- making the cache ----------------------------------------------------------------------


def safetensors_bytes(tensors, scratch):
    save_file(tensors, scratch, metadata={"format": "pt"})
    with open(scratch, "rb") as f:
        data = f.read()
    os.remove(scratch)
    return data


def tokenizer_json(scratch):
    """A real tokenizer.json (the `tokenizers` package when installed, else its format by hand)."""
    vocab = {"[UNK]": 0, "[PAD]": 1, "hello": 2, "mesh": 3, "model": 4, "atmo": 5}
    try:
        from tokenizers import Tokenizer, models, pre_tokenizers

        tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
        tok.save(scratch)
        with open(scratch, "rb") as f:
            data = f.read()
        os.remove(scratch)
        return data
    except ImportError:
        body = {
            "version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
            "pre_tokenizer": {"type": "Whitespace"}, "post_processor": None, "decoder": None,
            "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"},
        }
        return json.dumps(body, indent=2).encode()


def gguf_bytes(scratch):
    """A GGUF (the `gguf` package when installed, else a v3 header with one key by hand)."""
    try:
        import gguf

        writer = gguf.GGUFWriter(scratch, "llama")
        writer.add_name("tiny")
        writer.add_context_length(16)
        writer.add_embedding_length(8)
        writer.add_block_count(1)
        writer.add_tensor("token_embd.weight", np.arange(48, dtype=np.float32).reshape(6, 8))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        with open(scratch, "rb") as f:
            data = f.read()
        os.remove(scratch)
        return data
    except ImportError:
        key, value = b"general.architecture", b"llama"
        return (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key
                + struct.pack("<I", 8) + struct.pack("<Q", len(value)) + value)


def write_repository(cache, repo_id, files, refs, lfs=LFS_SUFFIXES):
    """huggingface_hub's layout (hf_common.write_repository) at a commit made from repo_id;
    the files whose names end with one of lfs are LFS files (blob named by SHA-256)."""
    commit = hashlib.sha1(repo_id.encode() + b"@rev1").hexdigest()
    write_hf_repository(cache, repo_id, {path: (data, path.endswith(lfs)) for path, data in files.items()}, commit, refs)


def make(cache):
    os.makedirs(cache, exist_ok=True)
    scratch = os.path.join(cache, ".scratch")
    rng = np.random.default_rng(12)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8, "intermediate_size": 16,
        "num_attention_heads": 2, "num_hidden_layers": 1, "num_key_value_heads": 2, "vocab_size": 6,
        "max_position_embeddings": 16, "rms_norm_eps": 1e-6, "torch_dtype": "float32",
    }
    config_bytes = (json.dumps(config, indent=2) + "\n").encode()
    weights = {
        "model.embed_tokens.weight": rng.standard_normal((6, 8)).astype(np.float32),
        "model.layers.0.mlp.up_proj.weight": rng.standard_normal((16, 8)).astype(np.float32),
        "model.norm.weight": np.ones(8, dtype=np.float32),
    }
    tokenizer = tokenizer_json(scratch)
    gitattributes = b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.gguf filter=lfs diff=lfs merge=lfs -text\n"

    # A whole model in one safetensors file, with its config, tokenizer, README and a nested file.
    write_repository(cache, "atmo-interop/tiny-llama", {
        "model.safetensors": safetensors_bytes(weights, scratch),
        "config.json": config_bytes,
        "generation_config.json": b'{"bos_token_id": 0, "eos_token_id": 1}\n',
        "tokenizer.json": tokenizer,
        "tokenizer_config.json": b'{"model_max_length": 16, "unk_token": "[UNK]"}\n',
        "README.md": b"---\nlicense: mit\n---\n# tiny-llama\n",
        ".gitattributes": gitattributes,
        "onnx/README.md": b"exports go here\n",
        "code/__init__.py": b"",
    }, refs=["main", "v1.0"])

    # A sharded model: two shards and their index.
    names = sorted(weights)
    shard1 = {names[0]: weights[names[0]]}
    shard2 = {name: weights[name] for name in names[1:]}
    index = {"metadata": {"total_size": sum(t.nbytes for t in weights.values())},
             "weight_map": {**{n: "model-00001-of-00002.safetensors" for n in shard1},
                            **{n: "model-00002-of-00002.safetensors" for n in shard2}}}
    write_repository(cache, "atmo-interop/tiny-sharded", {
        "model-00001-of-00002.safetensors": safetensors_bytes(shard1, scratch),
        "model-00002-of-00002.safetensors": safetensors_bytes(shard2, scratch),
        "model.safetensors.index.json": (json.dumps(index, indent=2) + "\n").encode(),
        "config.json": config_bytes,
        "tokenizer.json": tokenizer,
        ".gitattributes": gitattributes + b"tokenizer.json filter=lfs diff=lfs merge=lfs -text\n",
    }, refs=["main"], lfs=LFS_SUFFIXES + ("tokenizer.json",))

    # A GGUF repository (org-less id, like `gpt2`).
    write_repository(cache, "tiny-gguf", {
        "tiny-Q8_0.gguf": gguf_bytes(scratch),
        "README.md": b"# tiny-gguf\n",
    }, refs=["main"])
    print("made the cache at", cache)


# --- checking the node against scan_cache_dir -----------------------------------------------


def get(url):
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.read()


def check_node(cache, base):
    from huggingface_hub import scan_cache_dir

    info = scan_cache_dir(cache)
    report(not info.warnings, "scan_cache_dir reports no warnings (%s)" % [str(w) for w in info.warnings])
    offered = {r["repo_id"]: r for r in json.loads(get(base + "/v1/repositories"))["repositories"]}
    report(set(offered) == {r.repo_id for r in info.repos}, "the node offers every repository of the cache: %s" % sorted(offered))
    for repo in sorted(info.repos, key=lambda r: r.repo_id):
        entry = offered.get(repo.repo_id)
        if entry is None:
            continue
        report(entry["repo_type"] == repo.repo_type == "model", "%s: repo_type model" % repo.repo_id)
        report(entry["model_id"] == repo.repo_id.replace("/", "--"), "%s: model_id %s" % (repo.repo_id, entry["model_id"]))
        (revision,) = repo.revisions
        report(entry["revision"] == revision.commit_hash, "%s: revision %s" % (repo.repo_id, entry["revision"]))
        report(set(entry["refs"]) == set(revision.refs), "%s: refs %s == %s" % (repo.repo_id, entry["refs"], sorted(revision.refs)))
        theirs = {str(f.file_path.relative_to(revision.snapshot_path)): f for f in revision.files}
        ours = {f["path"]: f for f in entry["files"]}
        report(set(ours) == set(theirs), "%s: the same %d files (%s)" % (repo.repo_id, len(theirs), sorted(set(ours) ^ set(theirs))))
        report([f["path"] for f in entry["files"]] == sorted(ours, key=lambda p: p.encode()), "%s: files sorted by path" % repo.repo_id)
        report(entry["size_bytes"] == sum(f.size_on_disk for f in theirs.values()), "%s: size_bytes is the files' sum" % repo.repo_id)
        for path in sorted(set(ours) & set(theirs)):
            mine, real = ours[path], theirs[path]
            with open(real.file_path, "rb") as f:
                data = f.read()
            etag = real.blob_path.name
            good = (mine["size_bytes"] == real.size_on_disk == len(data) and mine["blob_id"] == etag
                    and mine["sha256"] == sha256(data)
                    and etag == (sha256(data) if len(etag) == 64 else git_blob_id(data)))
            report(good, "%s %s: size %d, blob_id %s, sha256" % (repo.repo_id, path, mine["size_bytes"], mine["blob_id"][:12]))
            downloaded = get(base + "/v1/models/download/" + mine["model_id"])
            report(downloaded == data, "%s %s: served by its model_id %s" % (repo.repo_id, path, mine["model_id"]))

    models = [m["model_id"] for m in json.loads(get(base + "/v1/models"))["models"]]
    report(models == ["tiny-gguf--tiny-Q8_0.gguf"], "GET /v1/models lists only the file usable alone: %s" % models)
    one = json.loads(get(base + "/v1/repositories/atmo-interop--tiny-sharded"))
    report(one["repo_id"] == "atmo-interop/tiny-sharded", "GET /v1/repositories/{model_id} answers one repository")
    try:
        get(base + "/v1/repositories/no-such-repo")
        report(False, "an unknown repository is 404")
    except urllib.error.HTTPError as error:
        report(error.code == 404, "an unknown repository is 404")


def check_listing(path):
    with open(path) as f:
        listing = json.load(f)
    counts = {r["repository"]["repo_id"]: len(r["repository"]["files"]) for r in listing.get("repositories", [])}
    report(counts == {"atmo-interop/tiny-llama": 9, "atmo-interop/tiny-sharded": 6, "tiny-gguf": 2},
          "atmo models --json lists the repositories with their files: %s" % counts)
    report(all(r["installed"] for r in listing.get("repositories", [])), "atmo models marks this node's repositories installed")


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "make":
        make(sys.argv[2])
    elif command == "check":
        check_node(sys.argv[2], sys.argv[3].rstrip("/"))
    elif command == "listing":
        check_listing(sys.argv[2])
    sys.exit(exit_status())
