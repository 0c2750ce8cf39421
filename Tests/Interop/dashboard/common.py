"""Shared pieces of the dashboard checks: check lines, the node's API (the oracle the page
is compared with), CSS selectors of the contract's test ids, and the scripts that read the
page.
"""

import json
import re
import time
import urllib.error
import urllib.request

FIRST_PAINT_LOOSE_LIMIT_MS = 3000  # fails only above this (CI load); the goal is 300 ms
FIRST_PAINT_GOAL_MS = 300
FIRST_PAINT_RUNS = 5
UI_TIMEOUT = 20.0

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class Checks:
    def __init__(self):
        self.failed = 0
        self.passed = 0

    def ok(self, condition, text, detail=None):
        if condition:
            self.passed += 1
            print(f"ok - {text}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL - {text}" + (f": {detail}" if detail is not None else ""), flush=True)
        return bool(condition)

    @staticmethod
    def skip(text):
        print(f"SKIP - {text}", flush=True)

    @staticmethod
    def info(text):
        print(f"   {text}", flush=True)


# --- the node's API (the oracle the page is compared with) ---------------------------------
def get_json(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def request(url, method="GET", body=None, headers=None, timeout=30):
    """(status, headers, body bytes) of one request; HTTP errors are answers too."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def mesh_ids(node, **query):
    params = "&".join(f"{key}={urllib.request.quote(value)}" for key, value in query.items() if value)
    answer = get_json(f"{node}/v1/mesh/models" + (f"?{params}" if params else ""))
    return sorted(item["model"]["model_id"] for item in answer["models"])


def downloads(node):
    return get_json(f"{node}/v1/downloads").get("downloads", [])


def download_by_id(node, request_id):
    return next((d for d in downloads(node) if d.get("request_id") == request_id), None)


def wait_until(condition, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def quoted(value):
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def row_css(model_id):
    return f"[data-testid=model-row][data-model-id={quoted(model_id)}]"


def download_row_css(model_id, request_id=None):
    css = f"[data-testid=download-row][data-model-id={quoted(model_id)}]"
    if request_id:
        css += f"[data-request-id={quoted(request_id)}]"
    return css


# --- page readers -------------------------------------------------------------------------
READ_LIST = """
const shown = (e) => e.checkVisibility ? e.checkVisibility() : e.offsetParent !== null;
const rows = [...document.querySelectorAll('[data-testid=model-row]')].filter(shown);
const count = document.querySelector('[data-testid=model-count]');
return {ids: rows.map(r => r.getAttribute('data-model-id')), count: count ? count.textContent : null};
"""

READ_DOWNLOAD = """
const row = document.querySelector(arguments[0]);
if (!row) return null;
const q = (id) => row.querySelector('[data-testid=' + id + ']');
const bar = q('download-progress');
const text = (id) => { const e = q(id); return e ? e.textContent.trim() : null; };
const button = (id) => { const e = q(id); return e ? {shown: e.offsetParent !== null && !e.hidden, disabled: !!e.disabled} : null; };
return {request_id: row.getAttribute('data-request-id'), state: row.getAttribute('data-state'),
        value: bar ? Number(bar.value) : null, max: bar ? Number(bar.max) : null, percent: text('download-percent'),
        rate: text('download-rate'), eta: text('download-eta'), route: text('download-route'),
        sources: text('download-sources'), error: text('download-error'),
        cancel: button('download-cancel'), pause: button('download-pause'), resume: button('download-resume')};
"""


def leading_number(text):
    match = re.match(r"\s*([\d][\d,.\u00a0\u202f ]*)", text or "")
    return int(re.sub(r"\D", "", match.group(1))) if match else None


def fmt_ms(value):
    return "?" if value is None else f"{value:.0f}"
