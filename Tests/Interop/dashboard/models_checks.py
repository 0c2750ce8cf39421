"""The models views: first paint with 1,000 models, search and filters, the hostile names,
and the README's picture. A mixin of dashboard_checks.Suite.
"""

import statistics

import fake_peer
from common import (FIRST_PAINT_GOAL_MS, FIRST_PAINT_LOOSE_LIMIT_MS, FIRST_PAINT_RUNS, UI_TIMEOUT, Checks, fmt_ms,
                    leading_number, mesh_ids, quoted, row_css, wait_until)


class ModelsChecks:
    def first_paint(self):
        figures, fetches, renders = [], [], []
        for run in range(FIRST_PAINT_RUNS):
            self.open_dashboard()
            mark = self.browser.wait(lambda: self.browser.js(
                "const m = performance.getEntriesByName('models-painted'); return m.length ? m[0].startTime : null;"), UI_TIMEOUT)
            if mark is None:
                self.checks.ok(False, "the page marks performance 'models-painted' after the first render of the list",
                               f"no mark within {UI_TIMEOUT:.0f} s (run {run + 1})")
                return
            detail = self.browser.js("""
                const nav = performance.getEntriesByType('navigation')[0] || {};
                const models = performance.getEntriesByType('resource').filter(r => r.name.includes('/v1/mesh/models'));
                const m = models[0];
                return {html: nav.responseEnd || 0, dom: nav.domContentLoadedEventEnd || 0,
                        models_start: m ? m.startTime : null, models_end: m ? m.responseEnd : null,
                        models_bytes: m ? m.transferSize : null,
                        rows: document.querySelectorAll('[data-testid=model-row]').length};""")
            figures.append(mark)
            if detail["models_end"] is not None:
                fetches.append(detail["models_end"] - detail["models_start"])
                renders.append(mark - detail["models_end"])
            Checks.info(
                f"run {run + 1}: models-painted at {mark:.0f} ms (HTML {detail['html']:.0f} ms, DOMContentLoaded {detail['dom']:.0f} ms, "
                f"/v1/mesh/models {fmt_ms(detail['models_start'])}-{fmt_ms(detail['models_end'])} ms, "
                f"{detail['models_bytes']} bytes; {detail['rows']} rows in the DOM)")
        median = statistics.median(figures)
        print(f"figure - first paint of the model list with {self.total} models in the mesh (navigation start to "
              f"'models-painted', {FIRST_PAINT_RUNS} loads, headless Chromium {self.browser.version}, {self.atmo_label}): "
              f"median {median:.0f} ms, first {figures[0]:.0f} ms, min {min(figures):.0f} ms, max {max(figures):.0f} ms", flush=True)
        if fetches:
            print(f"figure - of which GET /v1/mesh/models (request to last byte) median {statistics.median(fetches):.0f} ms, "
                  f"from its last byte to the mark (parse and render) median {statistics.median(renders):.0f} ms", flush=True)
        print(f"figure - goal {FIRST_PAINT_GOAL_MS} ms: {'met' if median <= FIRST_PAINT_GOAL_MS else 'not met'} (median)", flush=True)
        self.checks.ok(median <= FIRST_PAINT_LOOSE_LIMIT_MS,
                       f"first paint with {self.total} models within {FIRST_PAINT_LOOSE_LIMIT_MS} ms (loose bound; median {median:.0f} ms)")

    # --- 1. models list: all, search, filters ---------------------------------------------
    def models_list(self):
        self.open_dashboard()
        state = self.browser.wait(lambda: (lambda s: s if s["ids"] else None)(self.list_state()), UI_TIMEOUT)
        if not self.checks.ok(state, "the models view lists rows ([data-testid=model-row])", "no rows"):
            return False
        count = leading_number(state["count"])
        self.checks.ok(count == self.total, f"the model count shows the {self.total} models of the mesh", f"count text {state['count']!r}")
        shown = set(state["ids"])
        for model_id in ("dash-small.gguf", "dash-large.gguf"):
            self.checks.ok(model_id in shown or self.browser.find(row_css(model_id)), f"A's {model_id} is in the list")
        self.shot("models-all")

        cases = [
            ({"search": "zebra"}, "search 'zebra'"),
            ({"search": "DASH-"}, "search 'DASH-' (case-insensitive)"),
            ({"search": "dash small"}, "search 'dash small' (two words)"),
            ({"type_": "audio"}, "type filter audio"),
            ({"format_": "onnx"}, "format filter onnx"),
            ({"capability": "zebra_detect"}, "capability filter zebra_detect"),
            ({"type_": "audio", "format_": "tflite"}, "type audio and format tflite together"),
            ({"search": "zebra", "format_": "onnx", "capability": "zebra_detect"}, "search with format and capability"),
            ({"search": "no-such-model-anywhere"}, "a search nothing matches"),
            ({"search": "zebra_detect"}, "a search for a capability's name (the node's search reads name, id, source)"),
        ]
        for filters, label in cases:
            missing = self.set_filters(**filters)
            if missing:
                self.checks.ok(False, f"models list: {label}", "missing " + "; ".join(missing))
                continue
            query = {"search": filters.get("search", ""), "type": filters.get("type_", ""), "format": filters.get("format_", ""),
                     "capability": filters.get("capability", "")}
            expected = mesh_ids(self.node, **query)
            rows, count_text = self.wait_list(expected)
            number = leading_number(count_text)
            self.checks.ok(rows == expected and number == len(expected),
                           f"models list: {label} shows the {len(expected)} rows the node's API answers, and the count says so",
                           f"rows {rows[:8]}{'...' if len(rows) > 8 else ''} ({len(rows)}), count text {count_text!r}, "
                           f"expected {expected[:8]} ({len(expected)})")
            if label == "type filter audio":
                self.shot("models-filtered")
        self.set_filters()
        rows, _ = self.wait_list(mesh_ids(self.node))
        self.checks.ok(len(rows) == self.total, "clearing search and filters shows every model again", f"{len(rows)} rows")
        return True

    # --- 4. hostile names --------------------------------------------------------------------
    def hostile(self):
        self.open_dashboard()
        self.browser.wait(lambda: self.list_state()["ids"], UI_TIMEOUT)
        self.set_filters(search="hostile")
        row = self.browser.wait(lambda: self.browser.find(row_css(fake_peer.HOSTILE_ID)), UI_TIMEOUT)
        if not self.checks.ok(row, "the hostile model's row is listed"):
            return
        found = self.browser.js("""
            const row = document.querySelector(arguments[0]);
            const name = row.querySelector('[data-testid=model-name]');
            return {name: name ? name.textContent : null, rowImgs: row.querySelectorAll('img').length,
                    xImgs: [...document.querySelectorAll('img')].filter(i => ['x', 'y'].includes(i.getAttribute('src'))).length};""",
                                row_css(fake_peer.HOSTILE_ID))
        self.checks.ok(found["name"] is not None and found["name"].strip() == fake_peer.HOSTILE_NAME,
                       "the model named <img src=x onerror=alert(1)> shows its name as text", f"name text {found['name']!r}")
        self.checks.ok(found["rowImgs"] == 0 and found["xImgs"] == 0, "no <img> element was created from the hostile name (list)", found)

        # The model's own page.
        self.browser.go_hash(f"#/models/{fake_peer.HOSTILE_ID}")
        page = self.browser.wait(lambda: self.browser.js("""
            const p = document.querySelector('[data-testid=model-page]');
            return p && p.textContent.includes(arguments[0]) ? p.textContent.length : null;""", fake_peer.HOSTILE_NAME), UI_TIMEOUT)
        images = self.browser.js("return [...document.querySelectorAll('img')].filter(i => ['x', 'y'].includes(i.getAttribute('src'))).length;")
        self.checks.ok(page and images == 0, "the hostile model's page shows the name as text, with no <img> made of it",
                       f"page text found: {bool(page)}, img src=x/y: {images}")

        # The peers view: the fake peer's node name is markup too.
        self.browser.go_hash("#/peers")
        css = f"[data-testid=peer-row][data-node-id={quoted(fake_peer.NODE_ID)}]"
        peer_text = self.browser.wait(lambda: (lambda e: e.get_attribute("textContent") if e else None)(self.browser.find(css)), UI_TIMEOUT)
        images = self.browser.js("return [...document.querySelectorAll('img')].filter(i => ['x', 'y'].includes(i.getAttribute('src'))).length;")
        self.checks.ok(peer_text and fake_peer.HOSTILE_NODE_NAME in peer_text and images == 0,
                       "the peer named <img src=y onerror=alert(2)> shows as text in the peers view, no <img> made of it",
                       f"row text {peer_text!r}, img src=x/y: {images}")
        hooked = self.browser.js("return Array.isArray(window.__atmoDialogs) && Array.isArray(window.__atmoViolations);")
        self.checks.ok(hooked, "the alert and CSP-violation recorders run in the page (so the next two checks mean something)")
        dialogs = self.browser.dialogs()
        violations = self.browser.violations()
        self.checks.ok(not [d for d in dialogs if not d.startswith("confirm:")], "no alert fired", dialogs)
        self.checks.ok(not violations, "no Content-Security-Policy violation (nothing tried to run inline script)", violations)

    # --- 2. a download from the page, to 100% and installed -------------------------------------

    # --- the README's picture -----------------------------------------------------------------
    def showcase(self):
        """The fake peer says goodbye (an empty catalog) and another one offers a few public
        models' names, while the models view is open: the page follows (mesh events, no
        reload) and shows those and A's two (one installed here): the README's picture."""
        self.open_dashboard()
        self.browser.wait(lambda: self.list_state()["ids"], UI_TIMEOUT)
        self.browser.js("window.__atmoSameDocument = true;")
        self.peer.models = []
        self.peer.push(self.node)
        self.showcase_peer = fake_peer.FakePeer(0, fake_peer.SHOWCASE_NODE_ID, fake_peer.SHOWCASE_NODE_NAME,
                                                fake_peer.showcase_entries())
        self.showcase_peer.push(self.node)
        expected = wait_until(lambda: (lambda ids: ids if len(ids) == len(fake_peer.showcase_entries()) + 2 else None)(
            mesh_ids(self.node)), 30)
        if not self.checks.ok(expected, "B's mesh view drops the peer that said goodbye and lists the new one's models",
                              f"{len(mesh_ids(self.node))} models"):
            return
        rows, count = self.wait_list(expected)
        same = self.browser.js("return window.__atmoSameDocument === true;")
        self.checks.ok(rows == expected and same, "the open models view follows the mesh live (no reload): the goodbye and the new catalog",
                       f"{len(rows)} rows, count {count!r}, same document {same}")
        # For the picture only (not a check): the header has the node's name, fonts are in.
        self.browser.wait(lambda: self.browser.js("""
            const title = document.getElementById('node-title');
            return (!title || !title.textContent.includes('connecting')) && (!document.fonts || document.fonts.status === 'loaded');"""), 5)
        self.shot("models")
