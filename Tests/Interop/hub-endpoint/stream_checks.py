"""A file the node fetches from the mesh, streamed to an unmodified huggingface_hub.

    stream_checks.py check-streamed CACHE WORK   with HF_ENDPOINT set to a node whose only
                                                 source of atmo-test/big-model is a slow
                                                 peer (over HTTP or a relay alone):
                                                 hf_hub_download gets the weights without
                                                 one read timeout, byte for byte, and every
                                                 request the client made went to the node and
                                                 was answered there (200/206, no redirect)

Prints "ok - ..." or "FAIL - ..." per check; exit status 1 if any failed.
"""

import logging
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from hf_common import exit_status, report  # noqa: E402
from hub_checks import BIG, expected  # noqa: E402


def check_streamed(cache, work):
    from huggingface_hub import constants, hf_hub_download

    messages = []

    class Collect(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    # The HTTP client logs every request it sends with the answer's status (INFO); the
    # downloader logs its retries and resumes (WARNING).
    for name in ("httpx", "httpx2"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(Collect(level=logging.INFO))
    logging.getLogger("huggingface_hub.file_download").addHandler(Collect(level=logging.WARNING))
    endpoint = os.environ["HF_ENDPOINT"].rstrip("/")
    files, _ = expected(cache, BIG)
    started = time.monotonic()
    got = hf_hub_download(BIG, "model.safetensors", cache_dir=os.path.join(work, "client-streamed"))
    seconds = time.monotonic() - started
    with open(got, "rb") as f:
        same = f.read() == files["model.safetensors"]
    report(same, f"hf_hub_download {BIG} model.safetensors through the node: same bytes ({seconds:.1f} s)")
    retries = [m for m in messages if "resume" in m.lower() or "error while downloading" in m.lower()]
    report(not retries, f"no read timeout of {constants.HF_HUB_DOWNLOAD_TIMEOUT} s on the way {retries[:2]}")
    # 'HTTP Request: GET http://host/path "HTTP/1.1 200 OK"'
    requests = [m for m in messages if m.startswith("HTTP Request:")]

    def status(message):
        return message.rsplit('"', 2)[-2].split(" ")[1]

    gets = [m for m in requests if m.startswith("HTTP Request: GET") and "/resolve/" in m]
    elsewhere = [m for m in requests if not m.split(" ")[3].startswith(endpoint + "/")]
    redirects = [m for m in requests if status(m).startswith("3")]
    report(bool(gets) and all(status(m) in ("200", "206") for m in gets), f"the node answered the file's GET itself {gets[:2]}")
    report(not redirects and not elsewhere, f"no redirect, no request to another host {(redirects + elsewhere)[:2]}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "check-streamed":
        check_streamed(sys.argv[2], sys.argv[3])
    else:
        print(__doc__)
        sys.exit(2)
    sys.exit(exit_status())
