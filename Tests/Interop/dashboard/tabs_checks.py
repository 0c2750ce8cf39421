"""Many tabs of one node: every tab of one origin shares one events stream (the page's
SharedWorker, /ui/events-worker.js), so an 8th tab loads although Chromium gives a host
only six HTTP/1.1 connections (with a stream per tab, six tabs held them all and the
seventh never loaded); and a page kept in the back/forward cache gives the stream back.
A mixin of dashboard_checks.Suite; it runs last.
"""

import json
import os
import time

from selenium.common.exceptions import TimeoutException, WebDriverException

import fake_peer
from browser import Browser
from common import CSP, UI_TIMEOUT, Checks, mesh_ids, request, row_css, wait_until

TABS = 8
TABS_NODE_ID = "fake-peer-many-tabs"


def held_streams(node):
    """How many /v1/events streams the node holds: GET /v1/node's `event_streams` (a probe
    opening streams until a 503 no longer counts them: past 8 streams from one address the
    node closes that address's oldest, the browser's). Returns (held, the answer's status)."""
    status, _, body = request(f"{node}/v1/node")
    try:
        held = json.loads(body).get("event_streams")
    except ValueError:
        held = None
    return (held if isinstance(held, int) else -1), status


class TabsChecks:
    def tabs_peer_push(self, count):
        """The many-tabs peer offers `count` models (a new catalog: a mesh event on every
        stream); returns the ids."""
        entries = [fake_peer.entry(f"many-tabs-{i}.gguf", f"Many tabs {i}", "llm", "gguf", ["chat"], 4_000 + i)
                   for i in range(count)]
        if self.tabs_peer is None:
            self.tabs_peer = fake_peer.FakePeer(0, TABS_NODE_ID, "many-tabs-peer", entries)
        self.tabs_peer.models = entries
        self.tabs_peer.push(self.node)
        return [e["model_id"] for e in entries]

    def streams_settle(self, expected, timeout=60):
        """Counts the node's events streams until it holds `expected` (or `timeout` passes);
        returns the counts. Streams of pages gone may hold their slots until the node's next
        write to them (the probe's own too): after each count a catalog with one more model
        (a mesh event on every stream within a second) clears them."""
        deadline = time.monotonic() + timeout
        rounds = []
        while True:
            held, _ = held_streams(self.node)
            rounds.append(held)
            self.tabs_peer_push(len(rounds) + 1)
            time.sleep(2)  # the mesh event reaches every stream within a second (coalescing)
            if held == expected or time.monotonic() >= deadline:
                return rounds

    def worker_file(self):
        url = f"{self.node}/ui/events-worker.js"
        status, headers, body = request(url)
        tag = headers.get("ETag") if headers else None
        self.checks.ok(status == 200 and headers.get("Content-Type") == "text/javascript; charset=utf-8" and tag
                       and headers.get("Content-Security-Policy") == CSP and b"EventSource" in body,
                       "GET /ui/events-worker.js answers the shared events worker (200 text/javascript, ETag, the CSP)",
                       f"{status} {headers.get('Content-Type') if headers else None} ETag {tag}")
        again, _, _ = request(url, headers={"If-None-Match": tag or '""'})
        self.checks.ok(again == 304, "GET /ui/events-worker.js with If-None-Match of its ETag answers 304", again)

    def many_tabs(self):
        """TABS tabs (window handles) of node B: each renders the model list and shows
        'live', each follows a peer's new catalog without a reload, and the node holds one
        events stream for all of them."""
        self.worker_file()
        driver = self.browser.driver
        main = driver.current_window_handle
        driver.get("about:blank")  # the last check's page (another origin's worker) goes
        handles, rendered, failures = [main], [], []
        driver.set_page_load_timeout(20)
        try:
            for index in range(TABS):
                if index:
                    driver.switch_to.new_window("tab")
                    handles.append(driver.current_window_handle)
                try:
                    driver.get(f"{self.node}/#/models")
                except TimeoutException:
                    failures.append(f"tab {index + 1}: the page did not load in 20 s")
                    rendered.append(False)
                    continue
                rows = self.browser.wait(lambda: self.list_state()["ids"], UI_TIMEOUT)
                if rows:
                    self.browser.js("window.__atmoSameDocument = true;")
                else:
                    failures.append(f"tab {index + 1}: no model rows in {UI_TIMEOUT:.0f} s")
                rendered.append(bool(rows))
            self.checks.ok(all(rendered), f"{TABS} tabs of node B each render the models list", failures)

            live = []
            for index, handle in enumerate(handles):
                if not rendered[index]:
                    live.append(False)
                    continue
                driver.switch_to.window(handle)
                live.append(bool(self.browser.wait(lambda: self.browser.js(
                    "const e = document.getElementById('live-text'); return e && e.textContent === 'live';"), UI_TIMEOUT)))
            self.checks.ok(all(live), f"each of the {TABS} tabs shows its live updates connected ('live')",
                           f"live per tab {live}")

            news = self.tabs_peer_push(1)
            listed = wait_until(lambda: set(news) <= set(mesh_ids(self.node)), 30)
            followed = []
            for index, handle in enumerate(handles):
                if not (listed and rendered[index]):
                    followed.append(False)
                    continue
                driver.switch_to.window(handle)
                row = self.browser.wait(lambda: self.browser.find(row_css(news[0])), UI_TIMEOUT)
                same = self.browser.js("return window.__atmoSameDocument === true;")
                followed.append(bool(row and same))
            self.checks.ok(listed and all(followed),
                           f"each of the {TABS} tabs lists a peer's new catalog live (mesh event, no reload)",
                           f"B lists it: {bool(listed)}; per tab {followed}")

            problems = []
            for index, handle in enumerate(handles):
                driver.switch_to.window(handle)
                errors = self.browser.page_errors() + self.browser.violations()
                if errors:
                    problems.append(f"tab {index + 1}: {errors[:3]}")
            self.checks.ok(not problems, f"no JavaScript error or CSP violation in the {TABS} tabs", problems)

            rounds = self.streams_settle(1)
            Checks.info(f"events streams node B holds with {TABS} tabs open, per count: {rounds}")
            self.checks.ok(rounds[-1] == 1, f"node B holds one events stream for its {TABS} tabs", f"counts {rounds}")
        finally:
            driver.set_page_load_timeout(30)
            for handle in handles[1:]:
                try:
                    driver.switch_to.window(handle)
                    driver.close()
                except WebDriverException:
                    pass
            driver.switch_to.window(main)
        driver.get("about:blank")
        rounds = self.streams_settle(0)
        self.checks.ok(rounds[-1] == 0, f"once the {TABS} tabs are closed, node B holds no events stream", f"counts {rounds}")

    def without_shared_worker(self):
        """A browser without SharedWorker (removed before the page's scripts run): the tab
        keeps a stream of its own, goes live and follows a new catalog."""
        driver = self.browser.driver
        hook = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": "delete window.SharedWorker;"})
        try:
            driver.get(f"{self.node}/#/models")
            ready = self.browser.wait(lambda: self.browser.js(
                "const e = document.getElementById('live-text');"
                "return typeof SharedWorker === 'undefined' && document.querySelectorAll('[data-testid=model-row]').length > 0"
                " && e && e.textContent === 'live';"), UI_TIMEOUT)
            self.browser.js("window.__atmoSameDocument = true;")
            news = self.tabs_peer_push(len(self.tabs_peer.models) + 1 if self.tabs_peer else 1)
            row = ready and self.browser.wait(lambda: self.browser.find(row_css(news[-1])), UI_TIMEOUT)
            same = self.browser.js("return window.__atmoSameDocument === true;")
            self.checks.ok(ready and row and same,
                           "without SharedWorker the page keeps its own events stream: live, and it follows a new catalog",
                           f"live with rows: {bool(ready)}, new row: {bool(row)}, same document: {same}")
            rounds = self.streams_settle(1)
            self.checks.ok(rounds[-1] == 1, "and node B holds that one stream", f"counts {rounds}")
        finally:
            driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": hook["identifier"]})
            driver.get("about:blank")

    def back_forward_cache(self):
        """A page of node B left for another origin's page stays in the back/forward cache
        (a browser of its own, with the cache on): meanwhile the node holds no events
        stream; back on it, the same document is live again on one stream."""
        other = Browser(os.path.join(self.args.work, "chromium-bfcache-profile"), back_forward_cache=True)
        try:
            driver = other.driver
            driver.get(f"{self.node}/#/models")
            live = other.wait(lambda: other.js("const e = document.getElementById('live-text'); return e && e.textContent === 'live';"),
                              UI_TIMEOUT)
            if not self.checks.ok(live, "a page of node B in a browser with the back/forward cache on is live"):
                return
            other.js("window.__atmoSameDocument = true; window.__atmoRestored = null;"
                     "addEventListener('pageshow', (e) => { window.__atmoRestored = e.persisted; });")
            driver.get(f"{self.peer.url}/other-origin.html")
            rounds = self.streams_settle(0)
            self.checks.ok(rounds[-1] == 0, "while that page is in the back/forward cache, node B holds no events stream",
                           f"counts {rounds}")
            driver.back()
            back = other.wait(lambda: other.js(
                "const e = document.getElementById('live-text');"
                "return window.__atmoSameDocument === true && window.__atmoRestored === true && e && e.textContent === 'live';"),
                UI_TIMEOUT)
            state = other.js("return [location.href, window.__atmoSameDocument, window.__atmoRestored,"
                             " (document.getElementById('live-text') || {}).textContent];")
            self.checks.ok(back, "back on it, the page comes from the back/forward cache and is live again", state)
            rounds = self.streams_settle(1)
            self.checks.ok(rounds[-1] == 1, "and node B holds one events stream again", f"counts {rounds}")
        finally:
            other.quit()
