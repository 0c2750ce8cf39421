"""A node whose --upstream answers as huggingface.co does, checked with an unmodified huggingface_hub.

This is a REPLAY of the Hub's documented behaviour, not the Hub (CI cannot reach it): what
huggingface_hub's own source expects (file_download.get_hf_file_metadata, http_get,
utils/_http.hf_raise_for_status, parse_ratelimit_headers) and what public threads show
huggingface.co sending. Two loopback hosts, so the redirect to the CDN crosses hosts:

- GET /api/models/{repo}/revision/{rev}: 200 with "sha"; unknown repository 401 RepoNotFound.
- GET /api/models/{repo}/tree/{rev}: pages (here of 2 entries; the Hub's are 1,000) with an
  absolute `Link: <...>; rel="next"` and an opaque cursor.
- GET /{repo}/resolve/{rev}/{path}: an LFS file 302 to the CDN host (signed query) with
  X-Linked-Etag, X-Linked-Size and X-Repo-Commit on the 302 (a Xet-backed one also
  X-Xet-Hash and Link rel="xet-auth"); a file in git a relative 307 to
  /api/resolve-cache/..., which serves it with its ETag and X-Repo-Commit; the first GET of
  the weights 429 with `RateLimit: "resolvers";r=0;t=1`.
- A renamed repository's old name: relative 307 to the new name.
- A gated repository's files: 401 GatedRepo without a token.
- The CDN: the bytes for a signed URL only, with an ETag that is not the file's hash; 400
  for a request that carries Authorization too.

    upstream_hub_behaviour.py serve PORTFILE        runs the replay; writes the Hub host's port
    upstream_hub_behaviour.py check-replay URL WORK huggingface_hub straight at the replay takes it
                                                    for a Hub (its plain HTTP path)
    upstream_hub_behaviour.py check WORK NODECACHE  with HF_ENDPOINT set to a node whose upstream
                                                    is the replay: snapshot_download, a renamed
                                                    repository, a gated one (GatedRepoError);
                                                    the node's cache holds the mirror

Prints "ok - ..." or "FAIL - ..." per check; exit status 1 if any failed.
"""

import base64
import hashlib
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from hf_common import exit_status, git_blob_id, report  # noqa: E402

REPO = "replay-org/model"
OLD_NAME = "replay-org/old-name"
GATED = "replay-org/gated"
COMMIT = "9a8b7c6d5e4f30211203f4e5d6c7b8a9f0e1d2c3"
PAGE_SIZE = 2


def repositories():
    """repo -> path -> (bytes, is_lfs, is_xet), made with the real packages."""
    import numpy as np
    from safetensors.numpy import save

    weights = save({"w": np.arange(4096, dtype=np.float32)}, metadata={"format": "np"})
    config = json.dumps({"model_type": "gpt2", "n_embd": 16, "n_layer": 1}, indent=2).encode() + b"\n"
    model = {
        ".gitattributes": (b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.onnx filter=lfs diff=lfs merge=lfs -text\n", False, False),
        "config.json": (config, False, False),
        "model.safetensors": (weights, True, False),
        "onnx/model.onnx": (bytes((i * 7 + 1) % 256 for i in range(70000)), True, True),
    }
    gated = {"config.json": (config, False, False), "model.safetensors": (weights, True, False)}
    return {REPO: model, GATED: gated}


def etag(data, lfs):
    return hashlib.sha256(data).hexdigest() if lfs else git_blob_id(data)


def xet_hash(data):
    return hashlib.sha256(b"xet:" + data).hexdigest()


def serve(port_file):
    repos = repositories()
    limited = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, headers=(), body=b"", content_type="application/json; charset=utf-8"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def json(self, status, value, headers=()):
            self.reply(status, headers, json.dumps(value).encode())

        def do_HEAD(self):
            self.do_GET()

    class CDN(Handler):
        def do_GET(self):
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if "Signature" not in query and "X-Amz-Signature" not in query:
                return self.reply(403, body=b"<Error><Code>AccessDenied</Code></Error>", content_type="application/xml")
            if self.headers.get("Authorization"):
                return self.reply(400, body=b"<Error><Code>InvalidArgument</Code></Error>", content_type="application/xml")
            name = parts.path.rsplit("/", 1)[-1]
            for files in repos.values():
                for data, lfs, xet in files.values():
                    if lfs and name == (xet_hash(data) if xet else hashlib.sha256(data).hexdigest()):
                        cdn_etag = hashlib.sha256(b"cdn:" + data).hexdigest()
                        return self.reply(200, [("ETag", '"%s"' % cdn_etag), ("Accept-Ranges", "bytes")], data, "application/octet-stream")
            self.reply(404, body=b"<Error><Code>NoSuchKey</Code></Error>", content_type="application/xml")

    cdn = ThreadingHTTPServer(("127.0.0.1", 0), CDN)
    cdn_base = "http://127.0.0.1:%d" % cdn.server_address[1]

    class Hub(Handler):
        def do_GET(self):
            parts = urlsplit(self.path)
            path = unquote(parts.path)
            remaining = ("RateLimit", '"resolvers";r=2998;t=172')
            for prefix in ("/api/models/", "/"):
                if path.startswith(prefix + OLD_NAME + "/") or path == prefix + OLD_NAME:
                    target = prefix + REPO + self.path[len(prefix + OLD_NAME):]
                    return self.reply(307, [("Location", target)], b"Temporary Redirect", "text/plain; charset=utf-8")
            if path.startswith("/api/resolve-cache/models/"):
                for repo, files in repos.items():
                    start = "/api/resolve-cache/models/%s/%s/" % (repo, COMMIT)
                    if path.startswith(start) and path[len(start):] in files:
                        data, lfs, _ = files[path[len(start):]]
                        headers = [("ETag", '"%s"' % etag(data, lfs)), ("X-Repo-Commit", COMMIT), remaining]
                        return self.reply(200, headers, data, "text/plain; charset=utf-8")
            if path.startswith("/api/models/"):
                rest = path[len("/api/models/"):]
                repo = next((r for r in repos if rest == r or rest.startswith(r + "/")), None)
                if repo is None:
                    message = "Repository not found"
                    return self.json(401, {"error": message}, [("X-Error-Code", "RepoNotFound"), ("X-Error-Message", message)])
                tail = rest[len(repo):]
                if tail == "" or tail.startswith("/revision/"):
                    rev = tail[len("/revision/"):] or "main"
                    if rev not in ("main", COMMIT):
                        return self.revision_not_found(rev)
                    info = {"id": repo, "modelId": repo, "sha": COMMIT, "private": False, "gated": "manual" if repo == GATED else False}
                    info["siblings"] = [{"rfilename": p} for p in sorted(repos[repo])]
                    return self.json(200, info)
                if tail.startswith("/tree/"):
                    rev = tail[len("/tree/"):]
                    if rev not in ("main", COMMIT):
                        return self.revision_not_found(rev)
                    return self.tree(repo, rev, parse_qs(parts.query))
            for repo, files in repos.items():
                start = "/%s/resolve/" % repo
                if not path.startswith(start):
                    continue
                rev, _, file_path = path[len(start):].partition("/")
                if rev not in ("main", COMMIT):
                    return self.revision_not_found(rev)
                if file_path not in files:
                    message = "Entry not found"
                    headers = [("X-Error-Code", "EntryNotFound"), ("X-Error-Message", message), ("X-Repo-Commit", COMMIT)]
                    return self.json(404, {"error": message}, headers)
                if repo == GATED:
                    message = "Access to model %s is restricted. You must have access to it and be authenticated to access it. Please log in." % repo
                    return self.json(401, {"error": message}, [("X-Error-Code", "GatedRepo"), ("X-Error-Message", message)])
                data, lfs, xet = files[file_path]
                if file_path == "model.safetensors" and self.command == "GET":
                    # The first GET of each client (huggingface_hub, or the node) is limited.
                    client = "hf" if "huggingface_hub" in (self.headers.get("User-Agent") or "") else "other"
                    with lock:
                        limited[client] = limited.get(client, 0) + 1
                        first = limited[client] == 1
                    if first:
                        headers = [("RateLimit", '"resolvers";r=0;t=1'), ("RateLimit-Policy", '"fixed window";"resolvers";q=3000;w=300')]
                        return self.json(429, {"error": "Too many requests"}, headers)
                if not lfs:
                    original = quote("/%s/resolve/%s/%s" % (repo, rev, file_path), safe="")
                    location = "/api/resolve-cache/models/%s/%s/%s?%s=&etag=%%22%s%%22" % (repo, COMMIT, quote(file_path), original, etag(data, lfs))
                    return self.reply(307, [("Location", location), remaining], b"Temporary Redirect", "text/plain; charset=utf-8")
                name = file_path.rsplit("/", 1)[-1]
                sign = "response-content-disposition=inline%%3B+filename%%3D%%22%s%%22&Expires=1796000000&Signature=Wj3kq~0dQz&Key-Pair-Id=K2L8" % name
                if xet:
                    location = "%s/xet-bridge-us/65c0e0a24913fc50b7ba14d2/%s?X-Xet-Cas-Uid=public&%s" % (cdn_base, xet_hash(data), sign)
                else:
                    location = "%s/repos/7f/3a/%s?%s" % (cdn_base, hashlib.sha256(data).hexdigest(), sign)
                headers = [
                    ("Location", location), ("X-Repo-Commit", COMMIT), ("X-Linked-Etag", '"%s"' % etag(data, lfs)),
                    ("X-Linked-Size", str(len(data))), remaining,
                ]
                if xet:
                    headers.append(("X-Xet-Hash", xet_hash(data)))
                    headers.append(("Link", '<http://127.0.0.1:%d/api/models/%s/xet-read-token/%s>; rel="xet-auth"' % (self.server.server_address[1], repo, COMMIT)))
                return self.reply(302, headers, b"Found. Redirecting to " + location.encode(), "text/plain; charset=utf-8")
            self.json(404, {"error": "Sorry, we can't find the page you are looking for."})

        def revision_not_found(self, rev):
            message = "Invalid rev id: %s" % rev
            self.json(404, {"error": message}, [("X-Error-Code", "RevisionNotFound"), ("X-Error-Message", message)])

        def tree(self, repo, rev, query):
            files = repos[repo]
            folders = {p.rsplit("/", 1)[0] for p in files if "/" in p}
            items = [{"type": "directory", "oid": git_blob_id(f.encode()), "size": 0, "path": f} for f in folders]
            for p, (data, lfs, xet) in files.items():
                item = {"type": "file", "size": len(data), "path": p, "oid": git_blob_id(data)}
                if lfs:
                    sha = hashlib.sha256(data).hexdigest()
                    pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (sha.encode(), len(data))
                    item["oid"] = git_blob_id(pointer)
                    item["lfs"] = {"oid": sha, "size": len(data), "pointerSize": len(pointer)}
                    if xet:
                        item["xetHash"] = xet_hash(data)
                items.append(item)
            items.sort(key=lambda i: i["path"])
            start = int(base64.b64decode(query["cursor"][0]).decode()) if "cursor" in query else 0
            end = min(len(items), start + PAGE_SIZE)
            headers = [("RateLimit", '"api";r=498;t=200')]
            if end < len(items):
                cursor = base64.b64encode(str(end).encode()).decode()
                next_url = "http://127.0.0.1:%d/api/models/%s/tree/%s?recursive=True&expand=False&cursor=%s" % (
                    self.server.server_address[1], repo, rev, cursor)
                headers.append(("Link", '<%s>; rel="next"' % next_url))
            self.json(200, items[start:end], headers)

    hub = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=cdn.serve_forever, daemon=True).start()
    with open(port_file + ".tmp", "w") as f:
        f.write(str(hub.server_address[1]))
    os.replace(port_file + ".tmp", port_file)
    hub.serve_forever()


def check_replay(replay, work):
    """huggingface_hub itself, straight at the replay, takes it for a Hub: the replay answers
    what the client expects (run with HF_HUB_DISABLE_XET=1: the replay has no Xet service)."""
    from huggingface_hub import snapshot_download

    try:
        snapshot = snapshot_download(REPO, cache_dir=os.path.join(work, "direct-cache"), endpoint=replay)
        same = all(open(os.path.join(snapshot, p), "rb").read() == data for p, (data, _, _) in repositories()[REPO].items())
        report(same, "huggingface_hub straight at the replay (no node) downloads %s: the replay answers as the client expects" % REPO)
    except Exception as error:  # noqa: BLE001
        report(False, "huggingface_hub straight at the replay: %r" % (error,))


def check(work, node_cache):
    from huggingface_hub import hf_hub_download, snapshot_download
    from huggingface_hub.errors import GatedRepoError

    repos = repositories()
    cache = os.path.join(work, "client-cache")
    try:
        snapshot = snapshot_download(REPO, cache_dir=cache)
        same = all(open(os.path.join(snapshot, p), "rb").read() == data for p, (data, _, _) in repos[REPO].items())
        report(same and snapshot.endswith(COMMIT), "snapshot_download of %s through the node: every file, commit %s (302 to the CDN host, relative 307, tree pages, a 429 waited out)" % (REPO, COMMIT[:8]))
    except Exception as error:  # noqa: BLE001
        report(False, "snapshot_download of %s through the node: %r" % (REPO, error))
    try:
        path = hf_hub_download(OLD_NAME, "config.json", cache_dir=os.path.join(work, "renamed-cache"))
        report(open(path, "rb").read() == repos[REPO]["config.json"][0], "hf_hub_download of a renamed repository's old name (relative 307s followed)")
    except Exception as error:  # noqa: BLE001
        report(False, "hf_hub_download of a renamed repository's old name: %r" % (error,))
    try:
        hf_hub_download(GATED, "model.safetensors", cache_dir=os.path.join(work, "gated-cache"))
        report(False, "a gated repository's file raises GatedRepoError (it downloaded)")
    except GatedRepoError as error:
        report("upstream" in str(error), "a gated repository's file raises GatedRepoError, naming the node's upstream")
    except Exception as error:  # noqa: BLE001
        report(False, "a gated repository's file raises GatedRepoError, not %r" % (error,))
    blobs = os.path.join(node_cache, "models--" + REPO.replace("/", "--"), "blobs")
    deadline = time.monotonic() + 30  # installed just after the check of its last byte
    while True:
        held = all(os.path.isfile(os.path.join(blobs, etag(data, lfs))) for data, lfs, _ in repos[REPO].values())
        if held or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    report(held, "the node's own cache holds every blob of %s, named by the Hub's etag" % REPO)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
        sys.exit(exit_status())
    elif len(sys.argv) == 4 and sys.argv[1] == "check-replay":
        check_replay(sys.argv[2], sys.argv[3])
        sys.exit(exit_status())
    else:
        print(__doc__)
        sys.exit(2)
