"""The local outbox a newcomer watches after `make run`: what Warta "sent", readable and
accessible."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, axe_audit, screenshot

ADDRESS = "budi.outbox@contoh.id"


def test_the_outbox_shows_a_sent_email_and_passes_axe(server: Server, page: Page) -> None:
    sent = server.api(
        "POST",
        "/v2/notifications/email",
        {
            "email_address": ADDRESS,
            "template_id": server.demo["email_template_id"],
            "personalisation": {
                "nama": "Budi",
                "jenis dokumen": "KTP-el",
                "nomor": "123",
                "kantor": "Disdukcapil Kota Bandung",
                "perlu janji": "tidak",
            },
        },
    )
    server.wait_status(sent["id"], "delivered")

    page.goto(server.url + "/dev/outbox")
    email = page.get_by_role("article").filter(has_text=ADDRESS)
    expect(email).to_contain_text("Dokumen KTP-el Anda siap diambil")
    expect(email).to_contain_text(sent["id"])
    axe_audit(page)
    screenshot(page, "dev-outbox")
