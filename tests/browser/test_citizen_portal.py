"""The demo citizen, on a phone-sized Chromium, signs in to the portal with a code sent
to her phone, finds a message in her inbox and reads it. Every page passes axe-core with
no serious or critical violation and costs at most 100 KB on first load."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, Transfer, axe_audit, screenshot, tab_to, transferred
from tests.integration.harness import code_in

PHONE = "+6281234567890"  # the demo citizen's, as `warta demo` registers it
FIRST_LOAD_LIMIT = 100_000  # bytes: a citizen on a slow, metered connection


def send_to_demo_citizen(server: Server, tanggal: str) -> None:
    sent = server.api(
        "POST",
        "/v2/notifications",
        {
            "citizen_id": server.demo["citizen_id"],
            "template_id": server.demo["multi_template_id"],
            "personalisation": {"nama": "Sri", "tanggal": tanggal},
        },
    )
    server.wait_status(sent["id"], "delivered")


def check_page(page: Page, name: str, load: Transfer) -> None:
    """Accessible, screenshotted, and light: ``load`` counted the page's own document."""
    axe_audit(page)
    screenshot(page, name)
    assert page.url in load.urls, f"{page.url} was not among what was counted: {load.urls}"
    assert load.bytes <= FIRST_LOAD_LIMIT, f"{page.url} took {load.bytes} bytes on first load"


def test_citizen_signs_in_with_a_code_and_reads_a_message(server: Server, page: Page) -> None:
    send_to_demo_citizen(server, "5 Desember")

    with transferred(page) as sign_in:
        page.goto(server.url + "/portal/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Masuk")
    check_page(page, "portal-sign-in", sign_in)

    seen = len(server.outbox(PHONE))
    page.get_by_label("Nomor HP atau email").fill("0812 3456 7890")
    with transferred(page) as asked:
        page.get_by_role("button", name="Kirim kode").click()
        page.wait_for_load_state()
    expect(page.get_by_label("Kode")).to_be_visible()
    check_page(page, "portal-code", asked)
    code = code_in(server.next_message(PHONE, seen)["body"])

    page.get_by_label("Kode").fill("000000" if code != "000000" else "111111")
    with transferred(page) as wrong:
        page.get_by_role("button", name="Masuk").click()
        page.wait_for_load_state()
    expect(page.get_by_role("alert")).to_be_visible()
    check_page(page, "portal-code-wrong", wrong)

    page.get_by_label("Kode").fill(code)
    with transferred(page) as inbox:
        page.get_by_role("button", name="Masuk").click()
        page.wait_for_url("**/portal/inbox")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kotak masuk")
    message = page.get_by_role("listitem").filter(has_text="Posyandu 5 Desember").first
    expect(message).to_contain_text("belum dibaca")
    check_page(page, "portal-inbox", inbox)

    with transferred(page) as opened:
        message.get_by_role("link").click()
        page.wait_for_url("**/portal/inbox/*")
    expect(page.get_by_role("heading", level=1)).to_have_text("Instansi Demo")
    expect(page.get_by_role("article")).to_contain_text("Posyandu 5 Desember di balai RW 05.")
    check_page(page, "portal-message", opened)

    page.get_by_role("link", name="Kotak masuk").first.click()
    expect(message).not_to_contain_text("belum dibaca")


def test_a_citizen_signs_in_with_the_keyboard_alone(server: Server, page: Page) -> None:
    page.goto(server.url + "/portal/")
    seen = len(server.outbox(PHONE))
    tab_to(page, "Nomor HP atau email")
    page.keyboard.type("0812 3456 7890")
    page.keyboard.press("Enter")
    expect(page.get_by_label("Kode")).to_be_visible()
    code = code_in(server.next_message(PHONE, seen)["body"])
    tab_to(page, "Kode")
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    page.wait_for_url("**/portal/inbox")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kotak masuk")
