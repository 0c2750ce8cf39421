"""A peer whose probe fails, in the peers view: node C (`--trickled-node`) has one configured
peer, trickler.py (`--trickler`), that answers every request with a head and then one byte
every 2 s, so C's `/health` probe of it never gets a whole answer in time. C's
`/v1/mesh/peers` says `probe_error: "timeout"`; its dashboard must say so in words next to
the peer ("no answer in time", as `atmo peers` does) with the reliability as the API gives
it. Then the same page reads an answer in which that peer's `probe_error` is markup, long
and multi-line (as a node of another version could send): it must show as text, cut to a
bounded length with a visible "…", and make no element, dialog or CSP violation.
A mixin of dashboard_checks.Suite.
"""

import json

from common import UI_TIMEOUT, Checks, get_json, wait_until

PROBE_TIMEOUT_WAIT = 90  # C's first probe ends at its deadline (run.sh: --probe-timeout 2)
HOSTILE_PROBE_ERROR = "<img src=x onerror=alert(9)>" + "A" * 5000 + "\n<script>alert(8)</script>"
PROBE_NOTE_MAX = 120  # "probe failed: " and the error, cut (the page cuts at 80 characters)

# The row of the peer whose endpoint is arguments[0] (found by its text: a row need not say
# its endpoint in an attribute), and what the checks read of it.
READ_PEER = """
const row = [...document.querySelectorAll('[data-testid=peer-row]')].find(r => r.textContent.includes(arguments[0]));
if (!row) return null;
const note = row.querySelector('[data-testid=peer-probe-error]');
const cells = row.querySelectorAll('td');
return {text: row.textContent, note: note ? note.textContent : null,
        note_shown: note ? note.checkVisibility() : false,
        note_color: note ? getComputedStyle(note).color : null,
        warn_color: getComputedStyle(document.documentElement).getPropertyValue('--warn').trim(),
        reliability: cells.length > 6 ? cells[6].textContent.trim() : null,
        elements: [...row.querySelectorAll('img, script, iframe, object, svg')].map(e => e.tagName)};
"""

# Runs before the page's scripts (DevTools injection): the page's fetch of /v1/mesh/peers
# reads the node's answer with the trickler's probe_error replaced by a hostile one.
REWRITE_PEERS = """
(() => {
  const target = %s, hostile = %s;
  const original = window.fetch;
  window.fetch = async (input, init) => {
    const response = await original(input, init);
    if (!String((input && input.url) || input).includes('/v1/mesh/peers')) return response;
    const body = await response.json();
    for (const peer of (body && body.peers) || []) if (peer.http === target) peer.probe_error = hostile;
    return new Response(JSON.stringify(body), {status: response.status, headers: {'Content-Type': 'application/json'}});
  };
})();
"""


def rgb(color):
    """'#9a6200' as getComputedStyle writes it ('rgb(154, 98, 0)'); None for anything else."""
    color = (color or "").strip()
    if len(color) != 7 or not color.startswith("#"):
        return None
    return "rgb(" + ", ".join(str(int(color[i:i + 2], 16)) for i in (1, 3, 5)) + ")"


class PeersChecks:
    def probe_timeout_peer(self):
        node, url = self.args.trickled_node, self.args.trickler
        if not node or not url:
            Checks.skip("a peer whose probe times out (run.sh starts node C and its trickling peer)")
            return

        def listed():
            peers = get_json(f"{node}/v1/mesh/peers").get("peers", [])
            return next((p for p in peers if p.get("http") == url and p.get("probe_error") == "timeout"), None)

        peer = wait_until(listed, PROBE_TIMEOUT_WAIT, interval=0.5)
        if not self.checks.ok(peer, "node C's /v1/mesh/peers says its trickling configured peer's probe timed out",
                              get_json(f"{node}/v1/mesh/peers")):
            return
        Checks.info(f"C's peer {url}: probe_error {peer.get('probe_error')!r}, reliability {peer.get('reliability')}")

        self.browser.load(f"{node}/#/peers")
        seen = self.browser.wait(lambda: (lambda r: r if r and r["note"] else None)(self.browser.js(READ_PEER, url)), UI_TIMEOUT)
        seen = seen or self.browser.js(READ_PEER, url)
        self.checks.ok(seen and seen["note"] == "no answer in time" and seen["note_shown"],
                       "C's peers view says \"no answer in time\" next to the peer whose probe timed out", seen)
        # The API's reliability as the page rounds it (the next probe may have lowered it since).
        now = listed() or peer
        reliability = round(float(now.get("reliability", -1)) * 100)
        shown = seen["reliability"] if seen else None
        self.checks.ok(shown and shown.endswith("%") and shown[:-1].isdigit() and abs(int(shown[:-1]) - reliability) <= 10
                       and int(shown[:-1]) < 100,
                       "the peer's reliability shows as the API gives it (below 100%)", f"shown {shown}, API {reliability}%")
        colors = (seen["note_color"], rgb(seen["warn_color"])) if seen else None
        self.checks.ok(colors and colors[1] and colors[0] == colors[1], "the note has the warnings' colour (app.css --warn)", colors)
        self.shot("peers-probe-timeout")

        script = self.browser.add_document_script(REWRITE_PEERS % (json.dumps(url), json.dumps(HOSTILE_PROBE_ERROR)))
        try:
            self.browser.load(f"{node}/#/peers")
            hostile = self.browser.wait(
                lambda: (lambda r: r if r and r["note"] and r["note"].startswith("probe failed") else None)(self.browser.js(READ_PEER, url)),
                UI_TIMEOUT) or self.browser.js(READ_PEER, url)
            note = hostile["note"] if hostile else None
            self.checks.ok(note and note.startswith("probe failed: <img src=x onerror=alert(9)>") and note.endswith("…")
                           and len(note) <= PROBE_NOTE_MAX and "\n" not in note,
                           "a long, markup probe_error shows as text, cut with a visible \"…\"", repr(note)[:300])
            self.checks.ok(hostile and not hostile["elements"], "the markup in probe_error makes no element in the row",
                           hostile and hostile["elements"])
            dialogs, violations = self.browser.dialogs(), self.browser.violations()
            self.checks.ok(not dialogs and not violations, "no alert and no CSP violation from the markup in probe_error",
                           {"dialogs": dialogs, "violations": violations})
            self.shot("peers-probe-hostile")
        finally:
            self.browser.remove_document_script(script)
