"""A citizen changes how she is reached in the portal, and the agency's next message
follows her choice. Every portal page is audited, screenshotted and weighed."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, register_citizen, sign_in_citizen, transferred
from tests.browser.test_citizen_portal import check_page
from tests.integration.harness import code_in

PHONE, EMAIL = "+6281299887766", "dewi.lestari@contoh.id"


def send_notice(server: Server, citizen_id: str, tanggal: str) -> None:
    sent = server.api(
        "POST",
        "/v2/notifications",
        {
            "citizen_id": citizen_id,
            "template_id": server.demo["multi_template_id"],
            "personalisation": {"nama": "Dewi", "tanggal": tanggal},
            # Her quiet hours (21:00-06:00 WIB by default) would hold a normal message
            # when the suite runs in the evening; urgent ones pass them, by channel order.
            "priority": "urgent",
        },
    )
    server.wait_status(sent["id"], "delivered")


def test_the_next_notification_follows_the_citizens_new_channel_order(
    server: Server, page: Page, tmp_path: Path
) -> None:
    # Imported contacts are the agency's own: signing in with the phone makes it hers (the
    # first own contact), and she confirms the address with the code sent to it.
    citizen_id = register_citizen(
        server, tmp_path, nik="3273014101900777", name="Dewi Lestari", phone=PHONE, email=EMAIL
    )
    send_notice(server, citizen_id, "1 Desember")
    assert any("1 Desember" in m["body"] for m in server.outbox(PHONE))  # SMS came first

    sign_in_citizen(server, page, PHONE, lang="en")

    # The address the agency added is shown masked until she proves it is hers: the
    # contacts page sends a code to it, and she enters the code there.
    page.goto(server.url + "/portal/contacts")
    expect(page.get_by_text("d***@contoh.id", exact=True)).to_be_visible()
    seen = len(server.outbox(EMAIL))
    page.get_by_role("button", name="This is mine: send a code to it").click()
    code = code_in(server.next_message(EMAIL, seen)["body"])
    with transferred(page) as load:
        page.goto(server.url + "/portal/contacts")
    check_page(page, "portal-contacts-code", load)
    page.get_by_label("Code sent to d***@contoh.id").fill(code)
    page.get_by_role("button", name="Make it my own").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.get_by_text(EMAIL, exact=True)).to_be_visible()

    with transferred(page) as load:
        page.goto(server.url + "/portal/preferences")
    check_page(page, "portal-preferences", load)
    page.get_by_label("Email").select_option("1")
    page.get_by_label("SMS").select_option("2")
    page.get_by_label("Use quiet hours").uncheck()
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")

    send_notice(server, citizen_id, "8 Desember")
    [email] = [m for m in server.outbox(EMAIL) if "8 Desember" in m["body"]]
    assert "Dewi" in email["body"]
    assert not any("8 Desember" in m["body"] for m in server.outbox(PHONE))

    for name in ("topics", "contacts", "consents", "devices", "data"):
        with transferred(page) as load:
            page.goto(f"{server.url}/portal/{name}")
        check_page(page, f"portal-{name}", load)
