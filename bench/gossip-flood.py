#!/usr/bin/env python3
"""Gossip memory under a flood (issue 9, item 2): for each given `atmo` binary, start
`atmo serve` on loopback, push COUNT catalogs of SIZE_MIB each (distinct origins, one
sender) to POST /v1/catalogs, then GET /v1/catalogs once, and print the node's peak RSS
(VmHWM) after the pushes and after the GET, side by side. Every node started is stopped.

usage: gossip-flood.py LABEL=ATMO [LABEL=ATMO ...]   (env COUNT=256 SIZE_MIB=3.5)"""
import http.client, json, os, shutil, subprocess, sys, tempfile, time

COUNT = int(os.environ.get("COUNT", "256"))
SIZE_MIB = float(os.environ.get("SIZE_MIB", "3.5"))


def rss_mib(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def catalog(origin, pad):
    return json.dumps({
        "type": "model_catalog", "node_id": origin, "node_name": origin, "timestamp": int(time.time() * 1000),
        "ttl_seconds": 300, "transfer_endpoints": {},
        "models": [{"model_id": f"m-{origin}", "name": "flood", "type": "llm", "format": "gguf",
                    "size_bytes": 1000, "sha256": "ab" * 32, "metadata": {"pad": pad}}]}).encode()


def run(binary):
    work = tempfile.mkdtemp(prefix="atmo-flood.")
    port_file = os.path.join(work, "port")
    node = subprocess.Popen(
        [binary, "serve", "--host", "127.0.0.1", "--port", "0", "--port-file", port_file, "--no-huggingface",
         "--no-llamafarm", "--no-lan", "--state-dir", os.path.join(work, "state"), "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not (os.path.exists(port_file) and open(port_file).read().strip()):
            if time.time() > deadline or node.poll() is not None:
                raise RuntimeError(f"{binary} did not start")
            time.sleep(0.05)
        port = int(open(port_file).read())
        base = rss_mib(node.pid, "VmRSS")
        pad = "x" * int(SIZE_MIB * 1024 * 1024)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        started = time.time()
        refused = 0
        for index in range(COUNT):
            connection.request("POST", "/v1/catalogs", catalog(f"flood-{index:04d}", pad),
                               {"Content-Type": "application/json"})
            answer = connection.getresponse()
            answer.read()
            refused += answer.status != 200
        push_seconds = time.time() - started
        after_pushes = rss_mib(node.pid, "VmHWM")
        connection.request("GET", "/v1/catalogs")
        answer = connection.getresponse()
        body_bytes = len(answer.read())
        after_get = rss_mib(node.pid, "VmHWM")
        connection.close()
        return dict(base=base, pushes=after_pushes, get=after_get, body=body_bytes / 2**20, seconds=push_seconds,
                    refused=refused)
    finally:
        node.terminate()
        try:
            node.wait(timeout=15)
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    runs = [arg.split("=", 1) for arg in sys.argv[1:]]
    if not runs:
        sys.exit(__doc__)
    print(f"{COUNT} pushes of {SIZE_MIB} MiB catalogs (distinct origins, one sender), then one GET /v1/catalogs")
    results = [(label, run(binary)) for label, binary in runs]
    print(f"{'':32}" + "".join(f"{label:>16}" for label, _ in results))
    for key, title in [("base", "RSS before the flood (MiB)"), ("pushes", "peak RSS after the pushes (MiB)"),
                       ("get", "peak RSS after the GET (MiB)"), ("body", "GET /v1/catalogs answer (MiB)"),
                       ("seconds", "time of the pushes (s)"), ("refused", "pushes answered non-200")]:
        print(f"{title:32}" + "".join(f"{result[key]:>16.1f}" for _, result in results))


if __name__ == "__main__":
    main()
