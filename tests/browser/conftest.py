"""Browser tests: Debian's Chromium, driven by Playwright, against a real `warta serve`
set up as `make run` sets it up (migrate, demo, serve) in a temporary var dir.

Fixtures: ``server`` (one for this folder: its URL, the demo's ids and keys, the API, the
dev outbox and the CLI on the same var dir), ``browser`` (one Chromium for this folder) and
``page`` (a fresh context per test, with the browser cache off, so every load is a first
load). Helpers: ``axe_audit``, ``screenshot``, ``tab_to``, ``transferred``, ``register_citizen`` and
``sign_in_citizen``.

A contact may be sent 3 codes in 15 minutes (``domain/limits.py``), and the test files of
this folder that one xdist process runs share one server: a test that signs a citizen in
registers a citizen of its own, so what else runs beside it cannot spend its codes.

Playwright's sync API: a test reads top to bottom like what a person does, and sync
tests run outside pytest-asyncio's event loop, which the sync API needs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.e2e.conftest import WARTA, free_port, wait_until_serving
from tests.integration.harness import auth_header, code_in

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).parents[2] / "var" / "screenshots"
# The machine has no network: without these Chromium keeps trying to reach its vendor
# (updates, sync, safe browsing, QUIC probes). --no-sandbox because tests run as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--no-first-run",
    "--disable-quic",
]
#: What axe reports that a person using assistive technology would be blocked by.
BLOCKING = ("serious", "critical")


def run_warta(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([WARTA, *args], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"warta {' '.join(args)} failed:\n{done.stderr}"
    return done


@dataclass
class Server:
    """A running `warta serve` and the demo that `warta demo` made in it."""

    url: str
    env: dict[str, str]
    var_dir: Path
    demo: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def run_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`warta ARGS` against this server's var dir (and so its database)."""
        return run_warta(self.env, *args)

    def cli_json(self, *args: str) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.run_cli(*args, "--json").stdout)
        return found

    def api(self, method: str, path: str, body: Any = None, key: str = "live_key") -> Any:
        """Call the Notify API as the demo agency with one of its keys."""
        response = httpx.request(
            method, self.url + path, json=body, headers=auth_header(self.demo[key]), timeout=10
        )
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def wait_status(self, notification_id: str, *statuses: str) -> str:
        """Poll the API until the notification reaches one of ``statuses``."""
        deadline = time.monotonic() + 20
        path = f"/v2/notifications/{notification_id}"
        while (status := str(self.api("GET", path)["status"])) not in statuses:
            assert time.monotonic() < deadline, f"notification {notification_id} is {status}"
            time.sleep(0.05)
        return status

    def outbox(self, to: str) -> list[dict[str, Any]]:
        """What the local sinks captured for one phone number or address, newest first."""
        got = httpx.get(self.url + "/dev/outbox.json", params={"to": to}, timeout=10)
        assert got.status_code == 200, got.text
        messages: list[dict[str, Any]] = got.json()
        return messages

    def next_message(self, to: str, seen: int) -> dict[str, Any]:
        """Wait for the first message to ``to`` beyond the ``seen`` it already had (30 s:
        the suite's other processes share the 2 cores with this server and the browser)."""
        deadline = time.monotonic() + 30
        while len(messages := self.outbox(to)) <= seen:
            assert time.monotonic() < deadline, f"nothing new for {to} in the dev outbox"
            time.sleep(0.05)
        return messages[len(messages) - seen - 1]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def register_citizen(
    server: Server, tmp_path: Path, *, nik: str, name: str, phone: str, email: str = ""
) -> str:
    """Import one citizen as an agency would (a record it checked itself, contacts
    trusted) and return its id. Signing in with the phone makes the contact hers."""
    rows = tmp_path / "warga.csv"
    channels = "sms;email" if email else "sms"
    rows.write_text(
        "nik,name,region_code,phone,email,channels\n"
        f"{nik},{name},32.73.01.1001,{phone},{email},{channels}\n"
    )
    server.run_cli(
        "citizen", "import", "--agency", server.demo["agency_id"], str(rows), "--trust-contacts"
    )
    return str(server.api("GET", f"/v2/citizens?nik={nik}")["id"])


#: The sign-in form's words: the contact's label, send, the code's label, sign in.
SIGN_IN_WORDS = {
    "id": ("Nomor HP atau email", "Kirim kode", "Kode", "Masuk"),
    "en": ("Mobile number or email", "Send code", "Code", "Sign in"),
}


def sign_in_citizen(server: Server, page: Page, phone: str, lang: str = "id") -> None:
    """Sign in to the portal, in ``lang``, with the code sent to ``phone``."""
    contact, send, code, enter = SIGN_IN_WORDS[lang]
    page.goto(server.url + "/portal/" + ("?lang=en" if lang == "en" else ""))
    seen = len(server.outbox(phone))
    page.get_by_label(contact).fill(phone)
    page.get_by_role("button", name=send).click()
    page.get_by_label(code).fill(code_in(server.next_message(phone, seen)["body"]))
    page.get_by_role("button", name=enter).click()
    page.wait_for_url("**/portal/inbox")


@pytest.fixture(scope="package")
def server() -> Iterator[Server]:
    """One `warta serve` for the browser tests, in a fresh var dir: SQLite, the dev
    outbox and the local peers, as `make run` gives a newcomer."""
    with tempfile.TemporaryDirectory(prefix="warta-browser-") as tmp:
        root = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("WARTA_")}
        env.update(WARTA_VAR_DIR=str(root / "var"), WARTA_SWEEP_INTERVAL="0.5")
        run_warta(env, "migrate")
        demo = json.loads(run_warta(env, "demo", "--json").stdout)
        port = free_port()
        log_path = root / "server.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [WARTA, "serve", "--port", str(port)], env=env, stdout=log, stderr=log
            )
        running = Server(
            f"http://127.0.0.1:{port}",
            env,
            root / "var",
            demo,
            log_path,
            process,
        )
        try:
            wait_until_serving(running.url, process, log_path)
            yield running
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Debian's chromium is not installed ({CHROMIUM} is missing): run `make test` "
            "or `make browser`, which install it with apt-get.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


#: Runs in every document before its own scripts: Chromium reports what the page's
#: Content-Security-Policy blocked as ``securitypolicyviolation`` events.
WATCH_POLICY = """
window.__policyViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__policyViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


def new_context(browser: Browser, **options: Any) -> BrowserContext:
    """A browser context whose pages record Content-Security-Policy violations."""
    context = browser.new_context(**options)
    context.add_init_script(WATCH_POLICY)
    return context


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = new_context(browser, viewport={"width": 412, "height": 915})  # a common phone
    opened = context.new_page()
    cdp = context.new_cdp_session(opened)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    yield opened
    context.close()


def axe_audit(page: Page) -> None:
    """Fail if axe-core finds a serious or critical accessibility violation on the page,
    or the page's Content-Security-Policy blocked something it uses."""
    blocked = page.evaluate("window.__policyViolations")
    assert blocked == [], f"Content-Security-Policy on {page.url}: {blocked}"
    if not AXE.exists():
        pytest.fail(
            f"axe-core is not installed ({AXE} is missing): run `make test` or `make browser`, "
            "which install it with npm.",
            pytrace=False,
        )
    if not page.evaluate("typeof window.axe === 'object'"):
        # Evaluated through DevTools, which the page's CSP does not govern (a <script> tag
        # with the source inline would be refused, as it should be).
        page.evaluate(AXE.read_text())
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    blocking = [v for v in result["violations"] if v["impact"] in BLOCKING]
    found = "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}\n  "
        + "\n  ".join(", ".join(node["target"]) for node in v["nodes"])
        for v in blocking
    )
    assert not blocking, f"axe-core on {page.url}:\n{found}"


def tab_to(page: Page, label: str, most: int = 20) -> None:
    """Press Tab until the field labelled ``label`` has focus, and check it shows it."""
    field = page.get_by_label(label)
    for _ in range(most):
        page.keyboard.press("Tab")
        if field.evaluate("element => element === document.activeElement"):
            outline = field.evaluate("element => getComputedStyle(element).outlineStyle")
            assert outline != "none", f"{label} has focus but shows no outline"
            return
    raise AssertionError(f"{label} is not reachable with Tab")


def screenshot(page: Page, name: str) -> Path:
    """The whole page as ./var/screenshots/NAME.png, for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@dataclass
class Transfer:
    bytes: int = 0
    urls: list[str] = field(default_factory=list)


@contextmanager
def transferred(page: Page) -> Iterator[Transfer]:
    """Bytes that came over the network (headers and encoded bodies, as DevTools'
    "transferred") for what the page loaded inside the ``with`` block."""
    counted = Transfer()
    cdp = page.context.new_cdp_session(page)
    urls: dict[str, str] = {}

    def sent(event: dict[str, Any]) -> None:
        # A redirect reuses the request id; its response only shows up here.
        if redirect := event.get("redirectResponse"):
            counted.bytes += int(redirect["encodedDataLength"])
            counted.urls.append(redirect["url"])
        urls[event["requestId"]] = event["request"]["url"]

    def finished(event: dict[str, Any]) -> None:
        counted.bytes += int(event["encodedDataLength"])
        counted.urls.append(urls.get(event["requestId"], "?"))

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.loadingFinished", finished)
    cdp.send("Network.enable")
    try:
        yield counted
    finally:
        cdp.detach()
