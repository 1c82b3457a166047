"""Agency staff in the console, in a real Chromium: sign in with a password and a TOTP
code, write a template and preview it, send themselves a test, check a bulk list, and a
viewer who cannot send. Every console page passes axe-core and is screenshotted."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Server, axe_audit, new_context, screenshot, tab_to
from tests.integration.harness import auth_header
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
    axe_audit(page)
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code").fill(fresh_code(secret, set()))
    page.get_by_role("button", name="Sign in").click()
    return secret


@pytest.fixture(scope="module")
def admin_state(server: Server, browser: Browser) -> dict[str, Any]:
    """The demo admin signs in once (first sign-in: TOTP set-up); tests reuse the session."""
    context = new_context(browser)
    page = context.new_page()
    sign_in(page, server, server.demo["console_email"], server.demo["console_password"])
    expect(page).to_have_url(re.compile(r"/console/$"))
    state: dict[str, Any] = context.storage_state()  # type: ignore[assignment]
    context.close()
    return state


@pytest.fixture
def admin(browser: Browser, admin_state: dict[str, Any]) -> Iterator[Page]:
    context = new_context(browser, storage_state=admin_state)
    yield context.new_page()
    context.close()


def test_sign_in_asks_for_the_password_then_a_code(server: Server, page: Page) -> None:
    page.goto(server.url + "/console/sign-in?lang=en")
    axe_audit(page)
    screenshot(page, "console-sign-in")
    page.get_by_label("Email address").fill(server.demo["console_email"])
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_have_text(
        "The email, password or code is not right. After 5 wrong tries, sign-in from here "
        "pauses for 15 minutes."
    )
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

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Message", exact=True).fill(
        "Halo ((nama)),\n\n# Izin Anda disetujui\n\nAmbil di loket 4."
    )
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name="Compare version 1 with 2").click()
    changes = page.get_by_role("table", name="Message: version 1 against version 2")
    expect(changes.locator("del")).to_have_text("Ambil di loket 3.")
    expect(changes.locator("ins")).to_have_text("Ambil di loket 4.")
    axe_audit(page)
    screenshot(page, "console-template-diff")
    page.get_by_role("link", name="Back to the template").click()

    page.get_by_role("link", name="Send a message with this template").click()
    page.get_by_label("((nama))").fill("Admin Demo")
    page.get_by_label("((jenis izin))").fill("usaha mikro")
    me = server.demo["console_email"]
    seen = len(server.outbox(me))
    page.get_by_role("button", name="Send yourself a test").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Notification to {me}")
    email = server.next_message(me, seen)
    assert email["subject"] == "Izin usaha mikro Anda disetujui"
    assert "Halo Admin Demo" in email["body"] and "loket 4" in email["body"]
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


def test_a_checked_list_is_sent_and_its_progress_shown(server: Server, admin: Page) -> None:
    page = admin
    rows = "phone number,nama,nomor polisi,tanggal\n0812-3456-7201,Budi,D 1 AB,1 Desember\n"
    page.goto(server.url + "/console/bulk")
    page.get_by_label("Template").select_option(server.demo["sms_template_id"])
    page.get_by_label("Spreadsheet (CSV or XLSX)").set_input_files(
        files=[{"name": "satu.csv", "mimeType": "text/csv", "buffer": rows.encode()}]
    )
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("status")).to_have_text("All 1 rows are ready to send.")
    screenshot(page, "console-bulk-ready")
    page.get_by_role("button", name="Send 1 messages").click()
    # console-progress.js refreshes the counts until every message is finished.
    expect(page.locator("#progress-summary")).to_contain_text("1 of 1 messages finished.")
    expect(page.locator("#progress-summary")).to_contain_text("Nothing more is being sent.")
    axe_audit(page)
    screenshot(page, "console-job")
    [sms] = server.outbox("+6281234567201")
    assert "D 1 AB" in sms["body"]


def test_a_broadcast_to_a_region_reaches_its_citizen(server: Server, admin: Page) -> None:
    page = admin
    page.goto(server.url + "/console/broadcasts")
    page.get_by_label("Template").select_option(server.demo["multi_template_id"])
    page.get_by_role("button", name="Use this template").click()
    page.get_by_label("Region code").fill("32.73")
    for field in page.get_by_role("group", name="Personalisation").get_by_role("textbox").all():
        field.fill("8 Desember")
    page.get_by_role("button", name="Start the broadcast").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Broadcast")
    expect(page.locator("#progress-summary")).to_contain_text("Nothing more is being sent.")
    # The facts and the Cancel button are refreshed with the counts (console-progress.js).
    expect(page.locator("#facts")).to_contain_text("Every citizen found")
    finished = re.search(r"(\d+) of \1 messages", page.locator("#progress-summary").inner_text())
    assert finished, "the broadcast did not finish"  # one message per citizen reached
    expect(page.locator("#facts")).to_contain_text(
        re.compile(rf"Citizens reached\s*{finished.group(1)}\b")
    )
    expect(page.get_by_role("button", name="Cancel this broadcast")).to_have_count(0)
    axe_audit(page)
    screenshot(page, "console-broadcast")


def test_a_new_api_key_is_shown_once(server: Server, admin: Page) -> None:
    page = admin
    page.goto(server.url + "/console/api-keys")
    page.get_by_label("Name", exact=True).fill("uji coba antrean")
    page.get_by_label("Test", exact=True).check()
    page.get_by_role("button", name="Create key").click()
    shown = page.get_by_label("Your API key")
    agency = server.demo["agency_id"]
    expect(shown).to_have_value(re.compile(rf"^uji_coba_antrean-{agency}-[0-9a-f-]{{36}}$"))
    axe_audit(page)
    screenshot(page, "console-api-key-created")
    key = shown.input_value()
    answer = httpx.get(server.url + "/v2/notifications", headers=auth_header(key), timeout=10)
    assert answer.status_code == 200, answer.text  # the key works against the API
    page.get_by_role("link", name="Back to API keys").click()
    expect(page.get_by_role("main")).not_to_contain_text(key)  # shown once only


def test_the_console_speaks_indonesian_by_default(server: Server, admin: Page) -> None:
    page = admin
    page.goto(server.url + "/console/")
    page.get_by_role("link", name="Bahasa Indonesia").click()
    expect(page.locator("html")).to_have_attribute("lang", "id")
    menu = page.get_by_role("navigation", name="Konsol")
    expect(menu.get_by_role("link", name="Kirim massal")).to_be_visible()
    axe_audit(page)
    screenshot(page, "console-dashboard-id")


def test_staff_sign_in_with_the_keyboard_alone(server: Server, page: Page) -> None:
    email, password = "papan.ketik@demo.warta.go.id", "hanya dengan papan ketik"
    server.run_cli(
        "staff", "add", "--agency", server.demo["agency_id"], "--email", email,
        "--name", "Papan Ketik", "--role", "sender", "--password", password,
    )  # fmt: skip
    page.goto(server.url + "/console/sign-in?lang=en")
    page.keyboard.press("Tab")  # the first stop skips the header, and shows itself
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    expect(page.get_by_role("link", name="Skip to content")).to_be_in_viewport()
    tab_to(page, "Email address")
    page.keyboard.type(email)
    tab_to(page, "Password")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    secret = page.locator("#totp-secret").inner_text()
    tab_to(page, "Code")
    page.keyboard.type(fresh_code(secret, set()))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")


def test_a_list_too_big_to_keep_in_memory_is_refused_with_a_page(
    server: Server, admin: Page
) -> None:
    page = admin
    page.goto(server.url + "/console/bulk")
    big = b"phone number\n" + b"081234567001\n" * 90_000  # 1.17 MB
    page.get_by_label("Spreadsheet (CSV or XLSX)").set_input_files(
        files=[{"name": "besar.csv", "mimeType": "text/csv", "buffer": big}]
    )
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("alert")).to_have_text(
        "The file is larger than 1 MB: split it into smaller files"
    )
    axe_audit(page)
