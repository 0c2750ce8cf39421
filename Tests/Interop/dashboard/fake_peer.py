"""A hostile peer of the dashboard suite: it answers like a node (`/health`, `/v1/models`,
`/v1/catalogs`) on 127.0.0.1 at a port the OS picks, and pushes a `model_catalog`
(docs/PROTOCOL.md §2, §6) to a node's `POST /v1/catalogs`. Its catalog carries a model whose
name is markup (`<img src=x onerror=alert(1)>`), a node name that is markup too, and as many
ordinary entries as asked (the 1,000 models of the first-paint figure), with known types,
formats and capabilities so the page's filters have exact answers.

It also serves `GET /other-origin.html`: a page of another origin than the node's, from
which the browser sends a cross-origin POST to the node (the Origin guard check).

Imported by dashboard_checks.py; runs in a thread of that process.
"""

import hashlib
import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOSTILE_NAME = "<img src=x onerror=alert(1)>"
HOSTILE_ID = "hostile-markup-model"
HOSTILE_NODE_NAME = "<img src=y onerror=alert(2)>"
NODE_ID = "fake-peer-dashboard-suite"

# Entries with rare values: the filters' exact answers (type, format, capability).
ZEBRA_COUNT = 3  # "zebra" in the name and id; format onnx, type audio, capability zebra_detect
AUDIO_COUNT = 5  # type audio in all (the 3 zebras and 2 more)
ONNX_COUNT = 4  # format onnx in all (the 3 zebras and 1 more)


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def entry(model_id, name, type_, format_, capabilities, size):
    return {
        "model_id": model_id, "name": name, "type": type_, "format": format_, "size_bytes": size,
        "sha256": sha(model_id), "version": "1.0", "capabilities": capabilities, "base_model": None,
        "classes": [], "class_count": 0, "context_length": 0, "source": "local", "source_ref": "local",
        "metadata": {},
    }


def catalog_entries(filler):
    """The hostile entry, the rare-valued ones, then `filler` ordinary llm/gguf/chat ones."""
    models = [entry(HOSTILE_ID, HOSTILE_NAME, "llm", "gguf", ["chat"], 1234)]
    for i in range(ZEBRA_COUNT):
        models.append(entry(f"zebra-{i}.onnx", f"Zebra detector {i}", "audio", "onnx", ["zebra_detect"], 10_000 + i))
    models.append(entry("audio-extra-0.tflite", "Audio extra 0", "audio", "tflite", ["transcription"], 20_000))
    models.append(entry("audio-extra-1.tflite", "Audio extra 1", "audio", "tflite", ["transcription"], 20_001))
    models.append(entry("onnx-extra-0.onnx", "Onnx extra 0", "vision", "onnx", ["object_detection"], 30_000))
    for i in range(filler):
        models.append(entry(f"filler-{i:04d}.gguf", f"Filler model {i:04d}", "llm", "gguf", ["chat"], 1_000_000 + i))
    return models


# A friendlier catalog for the README's picture (pushed last, from another node id): public
# models' names and sizes, made-up hashes.
SHOWCASE_NODE_ID = "fake-peer-showcase"
SHOWCASE_NODE_NAME = "studio-workstation"


def showcase_entries():
    return [
        entry("unsloth--Qwen3-1.7B-GGUF--Qwen3-1.7B-Q4_K_M.gguf", "Qwen3 1.7B Q4_K_M", "llm", "gguf", ["chat", "tools"], 1_107_409_952),
        entry("Llama-3.2-1B-Instruct-Q8_0.gguf", "Llama 3.2 1B Instruct Q8_0", "llm", "gguf", ["chat"], 1_321_083_040),
        entry("yolov8n_20240208_101500", "yolov8n", "vision", "pt", ["object_detection"], 6_534_387),
        entry("openai--whisper-small--model.safetensors", "whisper-small", "audio", "safetensors", ["transcription"], 967_002_928),
        entry("sentence-transformers--all-MiniLM-L6-v2--model.safetensors", "all-MiniLM-L6-v2", "embedding", "safetensors",
              ["embedding"], 90_868_376),
        entry("mobilenet_v3_small.tflite", "MobileNet v3 small", "vision", "tflite", ["classification"], 2_554_544),
    ]


class FakePeer:
    """The peer's HTTP server (started at construction) and its catalog pushes."""

    def __init__(self, filler, node_id=NODE_ID, node_name=HOSTILE_NODE_NAME, models=None):
        self.models = catalog_entries(filler) if models is None else models
        self.node_id = node_id
        self.node_name = node_name
        self.pushes = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/health":
                    self.answer(200, {
                        "status": "ok", "models_available": len(peer.models), "http_port": peer.port,
                        "node_id": peer.node_id, "node_name": peer.node_name, "protocol_version": "1.1"})
                elif self.path == "/v1/models":
                    self.answer(200, {"models": peer.models})
                elif self.path == "/v1/catalogs":
                    self.answer(200, {"catalogs": [peer.catalog()]})
                elif self.path == "/other-origin.html":
                    body = b"<!doctype html><title>another origin</title><p>another origin</p>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.answer(404, {"error": "Not found"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                if self.path == "/v1/catalogs":
                    self.answer(200, {"accepted": 1, "rejected": 0})
                else:
                    self.answer(404, {"error": "Not found"})

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def catalog(self):
        return {
            "type": "model_catalog", "protocol_version": "1.1", "node_id": self.node_id, "node_name": self.node_name,
            "timestamp": int(time.time() * 1000), "models": self.models,
            "transfer_endpoints": {"http": self.url, "websocket": False}, "ttl_seconds": 3600,
        }

    def push(self, node_url):
        """POSTs the catalog to `node_url`'s /v1/catalogs; returns its answer (a dict). After
        `self.models = []` this is the peer's goodbye (its entries leave the node's view)."""
        data = json.dumps(self.catalog()).encode()
        request = urllib.request.Request(
            f"{node_url}/v1/catalogs", data=data, method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        self.pushes.append(answer)
        return answer

    def stop(self):
        self.server.shutdown()
