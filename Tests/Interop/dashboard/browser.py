"""The browser of the dashboard suite: Debian's Chromium, headless, through Debian's
chromedriver (Selenium's own driver download is never used), with a hook in every page
(before the page's own scripts) that records calls to alert/confirm/prompt and every
Content-Security-Policy violation, and small helpers to wait on the DOM with a deadline.
"""

import time

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

# Runs in every document before its scripts (DevTools injection: the page's CSP does not
# apply to it). alert/prompt are recorded and answered at once; confirm is recorded and
# accepted (a page may ask before cancelling a download). Notification is a stand-in that
# grants the permission when asked and records what the page shows (headless Chromium
# shows none): the page's own logic is what is tested.
HOOK = """
(() => {
  window.__atmoNotifications = {requested: 0, shown: []};
  class StandInNotification {
    constructor(title, options) {
      window.__atmoNotifications.shown.push({title: String(title), body: String((options || {}).body || '')});
    }
    close() {}
    static requestPermission() {
      window.__atmoNotifications.requested += 1;
      StandInNotification.permission = 'granted';
      return Promise.resolve('granted');
    }
  }
  StandInNotification.permission = 'default';
  window.Notification = StandInNotification;
  window.__atmoDialogs = [];
  window.__atmoViolations = [];
  window.__atmoErrors = [];
  window.alert = (m) => { window.__atmoDialogs.push('alert:' + String(m)); };
  window.prompt = (m) => { window.__atmoDialogs.push('prompt:' + String(m)); return null; };
  window.confirm = (m) => { window.__atmoDialogs.push('confirm:' + String(m)); return true; };
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__atmoViolations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber);
  });
  window.addEventListener('error', (e) => {
    if (e.message) window.__atmoErrors.push(e.message + ' ' + (e.filename || '') + ':' + (e.lineno || 0));
  });
  window.addEventListener('unhandledrejection', (e) => {
    window.__atmoErrors.push('unhandled rejection: ' + String(e.reason && (e.reason.stack || e.reason)));
  });
})();
"""


# A name the browser resolves to 127.0.0.1 as a DNS-rebinding attacker's name would (only
# this browser, through --host-resolver-rules: no DNS server is involved).
REBIND_HOST = "rebind.test"


class Browser:
    def __init__(self, profile, width=1280, height=1000, back_forward_cache=False):
        options = webdriver.ChromeOptions()
        options.add_argument(f"--user-data-dir={profile}")
        options.binary_location = "/usr/bin/chromium"
        for argument in (
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={width},{height}",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--force-device-scale-factor=1",
            f"--host-resolver-rules=MAP {REBIND_HOST} 127.0.0.1",
        ):
            options.add_argument(argument)
        if not back_forward_cache:
            # Each load() leaves a page; kept in the back/forward cache it kept its events
            # stream open, and after five of them Chromium's six connections per host were
            # all held (seen here, Chromium 156, when each page had a stream of its own). The
            # suite's pages stay out of it; the back/forward cache check turns it on.
            options.add_argument("--disable-features=BackForwardCache")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        self.driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
        self.driver.set_page_load_timeout(30)
        self.driver.set_script_timeout(30)
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOOK})
        self.version = self.driver.capabilities.get("browserVersion", "?")

    def quit(self):
        try:
            self.driver.quit()
        except WebDriverException:
            pass

    # --- navigation and scripts -------------------------------------------------------
    def load(self, url):
        """A fresh document (about:blank first, so a URL differing only by its hash reloads).
        One retry when the driver loses the renderer's answer (seen once under load)."""
        for attempt in (1, 2):
            try:
                self.driver.get("about:blank")
                self.driver.get(url)
                return
            except TimeoutException:
                if attempt == 2:
                    raise

    def go_hash(self, route):
        """A hash route in the same document (no reload)."""
        self.driver.execute_script("window.location.hash = arguments[0];", route)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def js_async(self, script, *args):
        return self.driver.execute_async_script(script, *args)

    def add_document_script(self, source):
        """Runs `source` in every document loaded from now on, before its scripts (DevTools
        injection, like HOOK); returns the id remove_document_script takes."""
        return self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": source})["identifier"]

    def remove_document_script(self, identifier):
        self.driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": identifier})

    def dialogs(self):
        """alert/confirm/prompt calls recorded in this document, and a native one left open."""
        recorded = self.js("return window.__atmoDialogs || [];")
        try:
            open_alert = self.driver.switch_to.alert
            text = open_alert.text
            open_alert.dismiss()
            recorded = recorded + ["native:" + text]
        except NoAlertPresentException:
            pass
        return recorded

    def violations(self):
        return self.js("return window.__atmoViolations || [];")

    def page_errors(self):
        return self.js("return window.__atmoErrors || [];")

    def console(self):
        """The browser console since the last call (Selenium's browser log)."""
        try:
            return self.driver.get_log("browser")
        except WebDriverException:
            return []

    def network_log(self):
        """DevTools network events since the last call (the performance log)."""
        try:
            return self.driver.get_log("performance")
        except WebDriverException:
            return []

    def screenshot(self, path):
        self.driver.save_screenshot(path)
        return path

    # --- DOM ----------------------------------------------------------------------------
    def find(self, css):
        found = self.driver.find_elements(By.CSS_SELECTOR, css)
        return found[0] if found else None

    def find_all(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait(self, condition, timeout=15.0, interval=0.05):
        """Calls `condition` until it returns a truthy value (returned) or the deadline
        passes (None). Exceptions of the driver count as not yet."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = condition()
                if value:
                    return value
            except WebDriverException:
                pass
            if time.monotonic() >= deadline:
                return None
            time.sleep(interval)

    def type_into(self, css, text):
        """Replaces the text of an input the way a person does (select all, type), so the
        page sees input events."""
        element = self.find(css)
        if element is None:
            raise LookupError(f"no element {css}")
        element.click()
        element.send_keys(Keys.CONTROL, "a")
        element.send_keys(Keys.BACKSPACE)
        if text:
            element.send_keys(text)
        return element

    def choose(self, css, value):
        """Picks the option of a <select> whose value (or, failing that, text) is `value`
        ("" for the option that means any); returns the value chosen, None if none fits."""
        element = self.find(css)
        if element is None:
            raise LookupError(f"no element {css}")
        select = Select(element)
        for option in select.options:
            if option.get_attribute("value") == value:
                select.select_by_value(value)
                return value
        for option in select.options:
            if option.text.strip().lower() == value.lower():
                select.select_by_visible_text(option.text)
                return option.get_attribute("value")
        return None

    def options(self, css):
        element = self.find(css)
        if element is None:
            return []
        return [option.get_attribute("value") for option in Select(element).options]
