"""The downloads: one started from the page followed to 100% and installed, a second one
paused, resumed and cancelled from the page, and node A's view of the upload. A mixin of
dashboard_checks.Suite.
"""

import json
import os
import time

from common import (READ_DOWNLOAD, UI_TIMEOUT, Checks, download_by_id, download_row_css, downloads, request, row_css,
                    wait_until)


class DownloadsChecks:
    def enable_notifications(self):
        """The downloads view's button turns notifications on; the browser is asked for the
        permission only on that click (browser.py's stand-in Notification counts both)."""
        self.browser.go_hash("#/downloads")
        button = self.browser.wait(lambda: self.shown("[data-testid=enable-notifications]"), UI_TIMEOUT)
        asked_before = self.browser.js("return window.__atmoNotifications.requested;")
        if not self.checks.ok(button, "the downloads view has the enable-notifications button"):
            return
        button.click()
        asked = self.browser.wait(lambda: self.browser.js("return window.__atmoNotifications.requested;"), 5)
        self.checks.ok(asked_before == 0 and asked == 1, "the notification permission is asked once, on the click only",
                       f"asked {asked_before} times before the click, {asked} after")

    def download_small(self):
        model_id = "dash-small.gguf"
        self.open_dashboard()
        self.browser.wait(lambda: self.list_state()["ids"], UI_TIMEOUT)
        self.enable_notifications()
        self.browser.go_hash("#/models")
        self.set_filters(search="dash-small")
        row = self.browser.wait(lambda: self.shown(row_css(model_id)), UI_TIMEOUT)
        if not self.checks.ok(row, f"{model_id}'s row is shown"):
            return
        providers = self.browser.js("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
                                    f"{row_css(model_id)} [data-testid=model-providers]")
        self.checks.ok(providers and "node-a" in providers, f"{model_id}'s row names its provider, node-a", providers)
        self.browser.js("window.__atmoSameDocument = true;")
        priority_css = f"{row_css(model_id)} select[data-testid=download-priority]"
        button_css = f"{row_css(model_id)} button[data-testid=download-button]"
        priority = None
        if self.browser.find(priority_css) is not None:
            priority = self.browser.choose(priority_css, "low")
        self.checks.ok(priority == "low", "the row's priority select offers 'low' and takes it", self.browser.options(priority_css))
        button = self.shown(button_css)
        if not self.checks.ok(button, "the row has a download button"):
            return
        before = {d.get("request_id") for d in downloads(self.node)}
        button.click()
        started = wait_until(lambda: next((d for d in downloads(self.node)
                                           if d.get("model_id") == model_id and d.get("request_id") not in before), None), 15)
        if not self.checks.ok(started, "clicking download starts a download on the node (POST /v1/downloads)"):
            return
        request_id = started["request_id"]
        self.checks.ok(started.get("priority") == "low", "the download has the priority chosen on the page (low)", started.get("priority"))

        # Watch it in the downloads view until it completes; record the bar on the way.
        self.browser.go_hash("#/downloads")
        css = download_row_css(model_id, request_id)
        seen = []
        deadline = time.monotonic() + 120
        final = None
        node_done_at = None
        while time.monotonic() < deadline:
            state = self.browser.js(READ_DOWNLOAD, css)
            if state:
                point = (state["state"], state["value"], state["percent"])
                if not seen or seen[-1] != point:
                    seen.append(point)
                if state["state"] in ("completed", "failed", "cancelled"):
                    final = state
                    break
            if node_done_at is None:
                api = download_by_id(self.node, request_id) or {}
                if api.get("state") in ("completed", "failed", "cancelled"):
                    node_done_at = time.monotonic()
                    Checks.info(f"the node reports {api.get('state')}")
            elif time.monotonic() - node_done_at > 15:
                break  # the node finished 15 s ago; the row did not follow
            time.sleep(0.05)
        Checks.info("bar seen: " + ", ".join(f"{s}/{v}/{p}" for s, v, p in seen[:40]) + (" ..." if len(seen) > 40 else ""))
        if not self.checks.ok(final and final["state"] == "completed", f"the download row of {model_id} reaches state completed",
                              final or (seen[-1] if seen else "no row [data-testid=download-row] for it")):
            return
        final = self.browser.wait(lambda: (lambda s: s if s and s["value"] == 100 else None)(self.browser.js(READ_DOWNLOAD, css)), 5) or final
        self.checks.ok(final["value"] == 100 and (final["percent"] or "").startswith("100"),
                       "its progress bar reached 100 and the percent reads 100%", final)
        api = download_by_id(self.node, request_id)
        self.checks.ok(api and api.get("state") == "completed", "the node reports the download completed", api)
        shown = self.browser.wait(lambda: self.browser.js("return window.__atmoNotifications.shown;"), 5) or []
        self.checks.ok(len(shown) == 1 and "dash-small" in shown[0]["title"] + shown[0]["body"],
                       "the completed download fires one browser notification naming the model", shown)
        path = os.path.join(self.args.work, "b-models")
        sizes = [os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(path) for f in files if f.startswith("dash-small")]
        self.checks.ok(self.args.small_size in sizes, f"the file is in B's models folder with its {self.args.small_size} bytes", sizes)

        # Installed, live (same document: no reload).
        self.browser.go_hash("#/models")
        self.set_filters(search="dash-small")
        installed = self.browser.wait(lambda: (lambda e: e.get_attribute("textContent").strip() == "installed" if e else None)(
            self.browser.find(f"{row_css(model_id)} [data-testid=model-installed]")), 30)
        same = self.browser.js("return window.__atmoSameDocument === true;")
        self.checks.ok(installed and same, f"{model_id} shows as installed in the models view without a reload",
                       f"installed text {self.browser.js('const e = document.querySelector(arguments[0]); return e && e.textContent;', row_css(model_id) + ' [data-testid=model-installed]')!r}, same document {same}")
        self.set_filters()
        self.browser.wait(lambda: len(self.list_state()["ids"]) > 3, UI_TIMEOUT)
        self.shot("models-installed")

        # Its model page.
        self.browser.go_hash(f"#/models/{model_id}")
        parts = {}
        for test_id in ("model-page", "model-versions", "model-providers-detail", "model-files"):
            parts[test_id] = bool(self.browser.wait(lambda t=test_id: self.browser.find(f"[data-testid={t}]"), 10 if not parts else 2))
        self.checks.ok(all(parts.values()), "the model page shows versions, providers and files", parts)
        detail = self.browser.js("const e = document.querySelector('[data-testid=model-providers-detail]'); return e ? e.textContent : '';")
        self.checks.ok("node-a" in detail and "http" in detail, "the model page names the provider node-a and its route (http)", detail[:200])
        self.shot("model-page")

    # --- 3. a second download: pause/resume, cancel -----------------------------------------------
    def download_large(self):
        model_id = "dash-large.gguf"
        self.browser.go_hash("#/models")
        self.set_filters(search="dash-large")
        button = self.browser.wait(lambda: self.shown(f"{row_css(model_id)} button[data-testid=download-button]"), UI_TIMEOUT)
        if not self.checks.ok(button, f"{model_id}'s row has a download button"):
            return
        priority_css = f"{row_css(model_id)} select[data-testid=download-priority]"
        if self.browser.find(priority_css) is not None:
            self.browser.choose(priority_css, "normal")
        before = {d.get("request_id") for d in downloads(self.node)}
        button.click()
        started = wait_until(lambda: next((d for d in downloads(self.node)
                                           if d.get("model_id") == model_id and d.get("request_id") not in before), None), 15)
        if not self.checks.ok(started, f"clicking download starts the download of {model_id}"):
            return
        request_id = started["request_id"]
        self.browser.go_hash("#/downloads")
        css = download_row_css(model_id, request_id)
        moving = self.browser.wait(lambda: (lambda s: s if s and s["state"] == "downloading" and (s["value"] or 0) > 0 else None)(
            self.browser.js(READ_DOWNLOAD, css)), 60, 0.1)
        self.checks.ok(moving, f"{model_id} shows downloading with its bar moving", self.browser.js(READ_DOWNLOAD, css))
        if moving:
            Checks.info(f"row: {moving}")
        self.shot("downloads")
        self.provider_serving()

        self.pause_resume(css, request_id)

        row = self.browser.js(READ_DOWNLOAD, css)
        cancel = self.browser.find(f"{css} [data-testid=download-cancel]")
        if not self.checks.ok(cancel, "the download row has a cancel button", row):
            request(f"{self.node}/v1/downloads/{request_id}", method="DELETE")
            return
        cancel.click()
        final = self.browser.wait(lambda: (lambda s: s if s and s["state"] == "cancelled" else None)(self.browser.js(READ_DOWNLOAD, css)), 30)
        self.checks.ok(final, "cancelling from the page: the row's state becomes cancelled", self.browser.js(READ_DOWNLOAD, css))
        api = download_by_id(self.node, request_id)
        self.checks.ok(api and api.get("state") == "cancelled", "the node reports the download cancelled", api)
        confirms = [d for d in self.browser.dialogs() if d.startswith("confirm:")]
        if confirms:
            Checks.info(f"the page asked before cancelling (accepted): {confirms}")
        self.shot("downloads-final")

    # --- a failed download: its reason stays shown ------------------------------------------
    def download_failed(self):
        """The fake peer lists zebra-0.onnx but serves nothing (404 to every transfer): the
        download fails; its row stays with the node's reason."""
        model_id = "zebra-0.onnx"
        self.browser.go_hash("#/models")
        self.set_filters(search="zebra-0")
        button = self.browser.wait(lambda: self.shown(f"{row_css(model_id)} button[data-testid=download-button]"), UI_TIMEOUT)
        if not self.checks.ok(button, f"{model_id}'s row (the fake peer's) has a download button"):
            return
        before = {d.get("request_id") for d in downloads(self.node)}
        button.click()
        failed = wait_until(lambda: next((d for d in downloads(self.node) if d.get("model_id") == model_id
                                          and d.get("request_id") not in before and d.get("state") == "failed"), None), 90)
        if not self.checks.ok(failed, f"the download of {model_id}, which its only provider does not serve, fails on the node"):
            return
        self.browser.go_hash("#/downloads")
        css = download_row_css(model_id, failed["request_id"])
        row = self.browser.wait(lambda: (lambda s: s if s and s["state"] == "failed" and s["error"] else None)(
            self.browser.js(READ_DOWNLOAD, css)), UI_TIMEOUT)
        error = (failed.get("error") or "").strip()
        self.checks.ok(row and error[:40] in row["error"], "the failed download stays listed with the node's reason",
                       f"row {row or self.browser.js(READ_DOWNLOAD, css)}, node error {error[:80]!r} ({failed.get('error_code')})")
        self.shot("downloads-failed")

    def pause_route_exists(self):
        """Whether the node has POST /v1/downloads/{id}/pause: asked with an id no download
        has (the route answers its own 404 message; a node without it the router's)."""
        status, _, body = request(f"{self.node}/v1/downloads/no-such-download-probe/pause", method="POST")
        try:
            generic = status == 404 and json.loads(body) == {"error": "Not found"}
        except ValueError:
            generic = False
        return not generic

    def pause_resume(self, css, request_id):
        if not self.pause_route_exists():
            self.checks.skip("pause/resume from the page: the node has no POST /v1/downloads/{id}/pause (404)")
            return
        row = self.browser.js(READ_DOWNLOAD, css)
        pause = self.shown(f"{css} [data-testid=download-pause]")
        if not self.checks.ok(pause, "the running download's row has a pause button", row):
            return
        pause.click()
        paused = self.browser.wait(lambda: (lambda s: s if s and s["state"] == "queued" and (s["resume"] or {}).get("shown") else None)(
            self.browser.js(READ_DOWNLOAD, css)), 30)
        api = download_by_id(self.node, request_id) or {}
        self.checks.ok(paused and api.get("paused") is True and api.get("paused_by") == "user",
                       "pause from the page: the row shows queued with a resume button, the node reports paused by the user",
                       f"row {self.browser.js(READ_DOWNLOAD, css)}, node {api}")
        held = api.get("bytes_done")
        resume = self.shown(f"{css} [data-testid=download-resume]")
        if resume is None:
            request(f"{self.node}/v1/downloads/{request_id}/resume", method="POST")
            return
        self.shot("downloads-paused")
        resume.click()
        again = self.browser.wait(lambda: (lambda s: s if s and s["state"] in ("preparing", "downloading", "verifying") else None)(
            self.browser.js(READ_DOWNLOAD, css)), 30)
        api = download_by_id(self.node, request_id) or {}
        self.checks.ok(again and not api.get("paused"), "resume from the page: it transfers again", f"row {again}, node {api}")
        if held is not None:
            Checks.info(f"held {held} bytes when paused; now {api.get('bytes_done')} (resumed_bytes {api.get('resumed_bytes')})")

    def provider_serving(self):
        """A's node view while it uploads to B (a second tab): a serving row."""
        driver = self.browser.driver
        main = driver.current_window_handle
        try:
            driver.switch_to.new_window("tab")
            self.browser.load(f"{self.provider}/#/node")
            row = self.browser.wait(lambda: self.browser.find("[data-testid=serving-row]"), 15)
            text = row.get_attribute("textContent") if row else None
            self.checks.ok(row and "dash-large" in text, "node A's node view lists the upload to B as a serving row", text)
            self.shot("node-serving")
        finally:
            driver.close()
            driver.switch_to.window(main)

    # --- the peers and node views --------------------------------------------------------------
