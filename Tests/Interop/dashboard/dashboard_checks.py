"""The dashboard checks of Tests/Interop/dashboard/run.sh, in a real browser (browser.py),
against node B (`--node`, whose dashboard is opened) and node A (`--provider`, which offers
dash-small.gguf and dash-large.gguf with throttled uploads), with a fake peer (fake_peer.py)
that pushes B a catalog of 1,000 models, one of them named as markup.

The page is read only through its test ids (the `data-testid` attributes index.html and
app.js of Sources/AtmoDashboardAssets set for this suite), its data through the node's own
API (the answer a view is compared with). Prints "ok - ...", "FAIL - ..." or "SKIP - ..." per check, indented details,
and "figure - ..." lines; exits 1 if a check failed.
"""

import argparse
import json
import os
import shutil
import signal
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fake_peer  # noqa: E402
from browser import REBIND_HOST, Browser  # noqa: E402
from common import (CSP, READ_LIST, UI_TIMEOUT, Checks, downloads, get_json, mesh_ids, quoted, request,  # noqa: E402
                    wait_until)
from downloads_checks import DownloadsChecks  # noqa: E402
from models_checks import ModelsChecks  # noqa: E402
from peers_checks import PeersChecks  # noqa: E402
from tabs_checks import TabsChecks  # noqa: E402

IDLE_SECONDS = 20
FILLER = 1000  # the fake peer's ordinary models (the first-paint figure's 1,000)


class Suite(ModelsChecks, DownloadsChecks, PeersChecks, TabsChecks):
    """Every check, in the order run() calls them; the views' checks are in the mixins."""

    def __init__(self, args):
        self.args = args
        self.node = args.node
        self.provider = args.provider
        self.out = args.out
        self.checks = Checks()
        self.browser = None
        self.peer = None
        self.shots = {}
        self.showcase_peer = None
        self.tabs_peer = None
        self.atmo_label = atmo_label(args.atmo)

    # --- helpers ------------------------------------------------------------------------
    def shot(self, name):
        path = os.path.join(self.out, f"{name}.png")
        try:
            self.browser.screenshot(path)
            self.shots[name] = path
            Checks.info(f"screenshot {path} ({os.path.getsize(path)} bytes)")
        except Exception as error:  # a screenshot is evidence, never a check of its own
            Checks.info(f"screenshot {name} failed: {error}")
        return path

    def shown(self, css):
        """The first element matching `css` if it is displayed, else None."""
        element = self.browser.find(css)
        return element if element is not None and element.is_displayed() else None

    def open_dashboard(self, route="#/models"):
        self.browser.load(f"{self.node}/{route}")

    def list_state(self):
        return self.browser.js(READ_LIST)

    def wait_list(self, expected_ids, timeout=UI_TIMEOUT):
        """Waits until the rows shown are exactly `expected_ids`; returns (rows, count text)."""
        expected = sorted(expected_ids)
        state = self.browser.wait(lambda: (lambda s: s if sorted(s["ids"]) == expected else None)(self.list_state()), timeout)
        if state:
            return sorted(state["ids"]), state["count"]
        state = self.list_state()
        return sorted(state["ids"]), state["count"]

    def set_filters(self, search="", type_="", format_="", capability=""):
        """Sets the search box and the three filters; returns what could not be set."""
        missing = []
        for css, value in (
            ("select[data-testid=filter-type]", type_), ("select[data-testid=filter-format]", format_),
            ("select[data-testid=filter-capability]", capability),
        ):
            if self.browser.find(css) is None:
                missing.append(css)
            elif self.browser.choose(css, value) is None:
                missing.append(f"{css} has no option {value!r} (options: {self.browser.options(css)[:12]})")
        if self.browser.find("input[data-testid=model-search]") is None:
            missing.append("input[data-testid=model-search]")
        else:
            self.browser.type_into("input[data-testid=model-search]", search)
        return missing

    # --- 0. the mesh --------------------------------------------------------------------
    def setup_mesh(self):
        self.peer = fake_peer.FakePeer(FILLER)
        answer = self.peer.push(self.node)
        self.checks.ok(answer.get("accepted") == 1, f"the fake peer's catalog of {len(self.peer.models)} models is accepted by B", answer)
        wanted = len(self.peer.models) + 2
        listed = wait_until(lambda: (lambda ids: ids if len(ids) >= wanted else None)(mesh_ids(self.node)), 60)
        self.checks.ok(listed, f"B's mesh view lists the {wanted} models (A's 2 and the fake peer's)",
                       f"{len(mesh_ids(self.node))} listed")
        self.total = len(mesh_ids(self.node))

    def check_headers(self):
        status, headers, _ = request(f"{self.node}/")
        self.checks.ok(status == 200 and "text/html" in (headers.get("Content-Type") or ""), "GET / answers the page (200 text/html)",
                       f"{status} {headers.get('Content-Type')}")
        self.checks.ok(headers.get("Content-Security-Policy") == CSP, "GET / carries the contract's Content-Security-Policy",
                       headers.get("Content-Security-Policy"))

    # --- 5. first paint with 1,000 models -----------------------------------------------

    def peers_and_node(self):
        self.open_dashboard("#/peers")
        a_id = get_json(f"{self.provider}/health").get("node_id")
        css = f"[data-testid=peer-row][data-node-id={quoted(a_id)}]"
        row = self.browser.wait(lambda: self.browser.find(css), UI_TIMEOUT)
        self.checks.ok(row and "node-a" in row.get_attribute("textContent"), "the peers view lists node A by name and node id", a_id)
        self.shot("peers")
        self.browser.go_hash("#/node")
        parts = {}
        for test_id in ("storage-used", "storage-limit", "eviction-next", "bandwidth-limits"):
            parts[test_id] = bool(self.browser.wait(lambda t=test_id: self.browser.find(f"[data-testid={t}]"), 10 if not parts else 2))
        self.checks.ok(all(parts.values()), "the node view shows storage used and limit, eviction, bandwidth limits", parts)
        used = self.browser.find("[data-testid=storage-used]")
        if used is not None:
            Checks.info(f"storage-used reads {used.get_attribute('textContent').strip()!r}")
        self.shot("node")
        nav = [t for t in ("nav-models", "nav-downloads", "nav-peers", "nav-node") if self.browser.find(f"[data-testid={t}]") is None]
        self.checks.ok(not nav, "the navigation has the four views", f"missing {nav}")
        if not nav:
            self.browser.find("[data-testid=nav-models]").click()
            moved = self.browser.wait(lambda: self.browser.js("return location.hash;") in ("#/models", "", "#/", "#models"), 5)
            self.checks.ok(moved, "nav-models leads to #/models", self.browser.js("return location.hash;"))

    # --- 6. the Origin guard, from a page of another origin ------------------------------------
    def origin_guard(self):
        self.browser.network_log()
        self.browser.load(f"{self.peer.url}/other-origin.html")
        target = f"{self.node}/v1/downloads"
        result = self.browser.js_async("""
            const done = arguments[arguments.length - 1];
            fetch(arguments[0], {method: 'POST', mode: 'no-cors', headers: {'Content-Type': 'text/plain'},
                                 body: JSON.stringify({model_id: 'origin-guard-probe'})})
              .then(r => done('answered: ' + r.type)).catch(e => done('error: ' + e));""", target)
        statuses = []
        for entry in self.browser.network_log():
            message = json.loads(entry["message"]).get("message", {})
            if message.get("method") == "Network.responseReceived":
                response = message["params"]["response"]
                if response.get("url") == target:
                    statuses.append(response.get("status"))
        Checks.info(f"cross-origin fetch from {self.peer.url}: {result}; status seen by DevTools: {statuses}")
        listed = [d for d in downloads(self.node) if d.get("model_id") == "origin-guard-probe"]
        self.checks.ok(not listed and (not statuses or statuses == [403]),
                       "a POST /v1/downloads from a page of another origin is refused (403, no download made)",
                       f"statuses {statuses}, downloads {listed}")

    # --- an idle page: what it asks of the node ---------------------------------------------
    def idle(self):
        """The models view (1,000 models) left alone for IDLE_SECONDS: the requests it makes
        and their bytes, printed as a figure. The page fetches on the node's events only
        (mesh events at most one per second), so the check is only against a tight loop: at
        most two requests (models and repositories) per second."""
        self.open_dashboard()
        self.browser.wait(lambda: self.list_state()["ids"], UI_TIMEOUT)
        self.browser.wait(lambda: self.browser.js("const e = document.getElementById('live-text'); return !e || e.textContent === 'live';"), 10)
        start = self.browser.js("performance.setResourceTimingBufferSize(10000); return performance.now();")
        time.sleep(IDLE_SECONDS)  # an observation window, not a wait for readiness
        read = """
            return performance.getEntriesByType('resource')
              .filter(r => r.startTime >= arguments[0] && r.startTime < arguments[1] && !r.name.includes('/v1/events'))
              .map(r => ({path: new URL(r.name).pathname, bytes: r.transferSize || r.encodedBodySize || 0}));"""
        # Resource timing lists a request once its answer is complete (one still coming at
        # the window's end is not counted).
        entries = self.browser.js(read, start, start + IDLE_SECONDS * 1000)
        urls = {index: entry["path"].lstrip("/") for index, entry in enumerate(entries)}
        total = sum(entry["bytes"] for entry in entries)
        paths = sorted(set(urls.values()))
        peers = len(get_json(f"{self.node}/v1/mesh/peers").get("peers", []))
        print(f"figure - the idle models view with {self.total} models and {peers} peers: {len(urls)} requests, "
              f"{total / 1024:.0f} KiB in {IDLE_SECONDS} s ({', '.join(paths) or 'none'}); "
              f"{total * 86400 / IDLE_SECONDS / 2**30:.1f} GiB a day at that pace", flush=True)
        self.checks.ok(len(urls) <= 2 * IDLE_SECONDS, f"the idle page asks the node at most twice a second ({len(urls)} requests in {IDLE_SECONDS} s)",
                       paths)

    # --- the Host guard (DNS rebinding), from the browser's side -----------------------------------
    def host_guard(self):
        """The browser maps rebind.test to 127.0.0.1 (browser.py), as a rebinding DNS server
        would: B's page must not answer under that name; under a *.localhost name it does."""
        port = self.node.rsplit(":", 1)[1]
        self.browser.load(f"http://{REBIND_HOST}:{port}/#/models")
        text = self.browser.wait(lambda: self.browser.js("return document.body ? document.body.textContent : '';"), 10) or ""
        rows = self.browser.js("return document.querySelectorAll('[data-testid=model-row]').length;")
        self.checks.ok("forbidden_host" in text and rows == 0,
                       f"B's page opened as http://{REBIND_HOST}:{port}/ (a rebinding name for 127.0.0.1) is refused (forbidden_host)",
                       f"body {text[:160]!r}, {rows} rows")
        self.browser.load(f"http://node-b.localhost:{port}/#/models")
        rows = self.browser.wait(lambda: self.browser.js("return document.querySelectorAll('[data-testid=model-row]').length;"), UI_TIMEOUT)
        self.checks.ok(rows, f"B's page opened as http://node-b.localhost:{port}/ works (a loopback name)", f"{rows} rows")

    def console_errors(self, entries):
        errors = [e["message"] for e in entries if e.get("level") == "SEVERE" and "favicon.ico" not in e.get("message", "")]
        errors = [e for e in errors if "other-origin" not in e and "origin-guard" not in e]
        # The host's interfaces changed (another test's network namespace or veth pair):
        # Chromium aborts requests in flight then; not the page's doing.
        changed = [e for e in errors if "ERR_NETWORK_CHANGED" in e]
        if changed:
            Checks.info(f"{len(changed)} requests aborted by Chromium because the host's network changed (not counted)")
        errors = [e for e in errors if "ERR_NETWORK_CHANGED" not in e]
        for error in errors[:10]:
            Checks.info(f"console: {error}")
        return errors

    def run(self):
        self.check_headers()
        self.setup_mesh()
        self.browser = Browser(os.path.join(self.args.work, "chromium-profile"))
        Checks.info(f"headless Chromium {self.browser.version}, node B {self.node}, node A {self.provider}, fake peer {self.peer.url}")
        steps = [self.first_paint, self.idle, self.models_list, self.hostile, self.download_small, self.download_large, self.download_failed,
                 self.peers_and_node, self.probe_timeout_peer, self.showcase]
        console = []
        # ATMO_DASHBOARD_CHECKS=many_tabs,hostile runs only those steps (while working on them).
        only = [name for name in os.environ.get("ATMO_DASHBOARD_CHECKS", "").split(",") if name]
        for step in steps:
            if only and step.__name__ not in only:
                continue
            try:
                step()
            except Exception as error:
                self.checks.ok(False, f"{step.__name__} ran to its end", where(error))
            console += self.browser.console()
        errors = self.console_errors(console)
        page_errors = self.browser.js("return window.__atmoErrors || [];") if self.browser else []
        self.checks.ok(not errors and not page_errors, "no JavaScript error in the console", (errors + page_errors)[:5])
        for step in (self.origin_guard, self.host_guard, self.many_tabs, self.without_shared_worker,
                     self.back_forward_cache):
            if only and step.__name__ not in only:
                continue
            try:
                step()
            except Exception as error:
                self.checks.ok(False, f"{step.__name__} ran to its end", where(error))
        if self.args.readme_image and "models" in self.shots:
            os.makedirs(os.path.dirname(self.args.readme_image), exist_ok=True)
            shutil.copyfile(self.shots["models"], self.args.readme_image)
            Checks.info(f"copied the models view to {os.path.abspath(self.args.readme_image)}")
        print("screenshots: " + " ".join(self.shots.values()), flush=True)

    def close(self):
        if self.browser:
            self.browser.quit()
        for peer in (self.peer, self.showcase_peer, self.tabs_peer):
            if peer:
                peer.stop()


def atmo_label(path):
    """'debug atmo', 'release atmo' or the binary's path, for the figures."""
    parts = (path or "").split(os.sep)
    for build in ("debug", "release"):
        if build in parts:
            return f"{build} atmo"
    return path or "atmo"


def where(error):
    """The error's first line and the last line of this suite's files it went through."""
    here = os.path.dirname(os.path.abspath(__file__))
    frames = [f for f in traceback.extract_tb(error.__traceback__) if os.path.abspath(f.filename).startswith(here)]
    place = f" (at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}".splitlines()[0] + place


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--node", required=True)
    parser.add_argument("--provider", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--small-size", type=int, required=True)
    parser.add_argument("--readme-image")
    parser.add_argument("--trickled-node", help="node C, whose one configured peer (--trickler) trickles its answers")
    parser.add_argument("--trickler")
    parser.add_argument("--atmo", help="the atmo binary (named in the figures)")
    args = parser.parse_args()
    # run.sh's cleanup sends TERM: end through `finally`, so Chromium and chromedriver stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    suite = Suite(args)
    try:
        suite.run()
    finally:
        suite.close()
    sys.exit(1 if suite.checks.failed else 0)


if __name__ == "__main__":
    main()
