"""Agency staff in the console, in a real Chromium: sign in with a password and a TOTP
code, write a template and preview it, send themselves a test, check a bulk list, and a
viewer who cannot send. Every console page passes axe-core and is screenshotted."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Server, axe_audit, screenshot
from warta.api.console.web import NAV

VIEWER = "viewer@demo.warta.go.id"
VIEWER_PASSWORD = "lihat saja, jangan kirim"


def fresh_code(secret: str, used: set[str]) -> str:
    """The authenticator's code, waiting for the next one if this one was used already
    (a code works once)."""
    while (code := pyotp.TOTP(secret).now()) in used:
        time.sleep(0.5)
    used.add(code)
    return code


def sign_in(page: Page, server: Server, email: str, password: str) -> str:
    """Password, then the TOTP set-up page: returns the secret the authenticator keeps."""
    page.goto(server.url + "/console/sign-in?lang=en")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-step verification")
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code").fill(fresh_code(secret, set()))
    page.get_by_role("button", name="Sign in").click()
    return secret


@pytest.fixture(scope="module")
def admin_state(server: Server, browser: Browser) -> dict[str, Any]:
    """The demo admin signs in once (first sign-in: TOTP set-up); tests reuse the session."""
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, server, server.demo["console_email"], server.demo["console_password"])
    expect(page).to_have_url(re.compile(r"/console/$"))
    state: dict[str, Any] = context.storage_state()  # type: ignore[assignment]
    context.close()
    return state


@pytest.fixture
def admin(browser: Browser, admin_state: dict[str, Any]) -> Iterator[Page]:
    context = browser.new_context(storage_state=admin_state)  # type: ignore[arg-type]
    yield context.new_page()
    context.close()


def test_sign_in_asks_for_the_password_then_a_code(server: Server, page: Page) -> None:
    page.goto(server.url + "/console/sign-in?lang=en")
    axe_audit(page)
    screenshot(page, "console-sign-in")
    page.get_by_label("Email address").fill(server.demo["console_email"])
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_have_text("The email, password or code is not right")
    axe_audit(page)


def test_a_viewer_is_not_offered_sending_and_is_refused_it(server: Server, page: Page) -> None:
    agency = server.demo["agency_id"]
    server.run_cli(
        "staff", "add", "--agency", agency, "--email", VIEWER, "--name", "Vera Viewer",
        "--role", "viewer", "--password", VIEWER_PASSWORD,
    )  # fmt: skip
    sign_in(page, server, VIEWER, VIEWER_PASSWORD)
    expect(page).to_have_url(re.compile(r"/console/$"))
    menu = page.get_by_role("navigation", name="Console")
    expect(menu.get_by_role("link", name="Templates")).to_be_visible()
    expect(menu.get_by_role("link", name="Send", exact=True)).to_have_count(0)
    page.goto(server.url + "/console/send")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.get_by_role("alert")).to_contain_text("Your role (viewer)")
    axe_audit(page)
    screenshot(page, "console-not-allowed")


def test_an_editor_writes_a_template_previews_it_and_sends_themselves_a_test(
    server: Server, admin: Page
) -> None:
    page = admin
    page.goto(server.url + "/console/templates")
    page.get_by_role("link", name="New template").click()
    page.get_by_label("Email", exact=True).check()
    page.get_by_label("Name").fill("Izin usaha disetujui")
    page.get_by_label("Subject").fill("Izin ((jenis izin)) Anda disetujui")
    page.get_by_label("Message", exact=True).fill(
        "Halo ((nama)),\n\n# Izin Anda disetujui\n\nAmbil di loket 3."
    )
    # console.js previews as the editor types: the placeholders and the rendered heading.
    preview = page.locator("#preview")
    expect(preview.locator(".placeholders li")).to_have_text(["((jenis izin))", "((nama))"])
    expect(preview.get_by_role("heading", name="Izin Anda disetujui")).to_be_visible()
    axe_audit(page)
    screenshot(page, "console-template-edit")

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Izin usaha disetujui")
    axe_audit(page)
    screenshot(page, "console-template")

    page.get_by_role("link", name="Send a message with this template").click()
    page.get_by_label("((nama))").fill("Admin Demo")
    page.get_by_label("((jenis izin))").fill("usaha mikro")
    me = server.demo["console_email"]
    seen = len(server.outbox(me))
    page.get_by_role("button", name="Send yourself a test").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Notification to {me}")
    email = server.next_message(me, seen)
    assert email["subject"] == "Izin usaha mikro Anda disetujui"
    assert "Halo Admin Demo" in email["body"]
    axe_audit(page)
    screenshot(page, "console-notification")


def test_a_list_with_one_bad_row_gets_a_report_naming_it_and_sends_nothing(
    server: Server, admin: Page
) -> None:
    page = admin
    phones = ["+6281234567101", "+6281234567103"]
    before = sum(len(server.outbox(p)) for p in phones)
    page.goto(server.url + "/console/bulk")
    page.get_by_label("Template").select_option(server.demo["sms_template_id"])
    rows = (
        "phone number,nama,nomor polisi,tanggal\n"
        "0812-3456-7101,Budi,D 1234 AB,1 Desember\n"
        "0812,Sri,D 5678 CD,2 Desember\n"  # spreadsheet row 3: not a phone number
        "0812-3456-7103,Ani,D 9012 EF,3 Desember\n"
    )
    page.get_by_label("Spreadsheet (CSV or XLSX)").set_input_files(
        files=[{"name": "pajak.csv", "mimeType": "text/csv", "buffer": rows.encode()}]
    )
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("alert")).to_contain_text("1 of 3 rows have a problem")
    problems = page.get_by_role("table", name="Rows with a problem")
    expect(problems.locator("tbody tr")).to_have_count(1)
    expect(problems.locator("tbody tr")).to_have_text(re.compile(r"3\s*phone number\s*Not enough"))
    expect(page.get_by_role("button", name=re.compile("^Send"))).to_have_count(0)
    axe_audit(page)
    screenshot(page, "console-bulk-report")
    assert sum(len(server.outbox(p)) for p in phones) == before  # nothing went out


@pytest.mark.parametrize("path", [path for path, _label, _need in NAV])
def test_every_console_page_passes_axe(server: Server, admin: Page, path: str) -> None:
    admin.goto(server.url + path)
    expect(admin.get_by_role("main").get_by_role("heading", level=1)).to_be_visible()
    axe_audit(admin)
    name = path.strip("/").replace("/", "-") or "console"
    screenshot(admin, "console-dashboard" if name == "console" else name)
