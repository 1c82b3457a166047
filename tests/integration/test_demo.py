"""The demo agency `make run` creates works as the README shows."""

from __future__ import annotations

from tests.integration.harness import Harness
from warta.services.demo import ensure_demo


async def test_readme_examples_send_with_the_demo_templates(sqlite_harness: Harness) -> None:
    demo = await ensure_demo(sqlite_harness.app)
    sqlite_harness.keys["demo"] = demo["live_key"]

    sms = await sqlite_harness.post(
        "/v2/notifications/sms",
        {
            "phone_number": "0812-3456-7890",
            "template_id": demo["sms_template_id"],
            "personalisation": {
                "nama": "Budi",
                "nomor polisi": "B 1234 XY",
                "tanggal": "1 Desember",
            },
            "reference": "pajak-2026-001",
        },
        key="demo",
    )
    assert sms.status_code == 201, sms.text
    assert sms.json()["content"]["body"].startswith("Yth. Budi, pajak kendaraan B 1234 XY")

    email = await sqlite_harness.post(
        "/v2/notifications/email",
        {
            "email_address": "budi@example.com",
            "template_id": demo["email_template_id"],
            "personalisation": {
                "nama": "Budi",
                "jenis dokumen": "KTP-el",
                "nomor": "123",
                "kantor": "Disdukcapil Kota Bandung",
                "perlu janji": "tidak",
            },
        },
        key="demo",
    )
    assert email.status_code == 201, email.text
    content = email.json()["content"]
    assert content["subject"] == "Dokumen KTP-el Anda siap diambil"
    assert "Disdukcapil Kota Bandung" in content["body"]
    assert "janji temu" not in content["body"]  # "tidak" hides the optional paragraph
    await sqlite_harness.wait_status(email.json()["id"], "delivered")
    [captured] = sqlite_harness.app.outbox.list("email")
    assert captured.html is not None and "<h1" in captured.html


async def test_the_demo_sends_from_warta_and_a_reply_there_reaches_it(
    sqlite_harness: Harness,
) -> None:
    # The demo agency has no sender id of its own: it texts from the platform's, and a
    # reply played at /dev/outbox (to WARTA, as the form says) is the demo's while it is
    # the last agency that texted the number.
    demo = await ensure_demo(sqlite_harness.app)
    sqlite_harness.keys["demo"] = demo["live_key"]
    sms = await sqlite_harness.post(
        "/v2/notifications/sms",
        {
            "phone_number": "0812-3456-7890",
            "template_id": demo["sms_template_id"],
            "personalisation": {"nama": "Budi", "nomor polisi": "B 1", "tanggal": "1 Des"},
        },
        key="demo",
    )
    await sqlite_harness.wait_status(sms.json()["id"], "delivered")
    [sent] = sqlite_harness.app.outbox.list("sms")
    assert sent.sender == "WARTA"

    played = await sqlite_harness.client.post(
        "/dev/sms/inbound", data={"sender": "0812-3456-7890", "text": "INFO", "to": "WARTA"}
    )
    assert played.status_code == 303
    [reply] = [m for m in await sqlite_harness.app.outbox.wait_for(2) if m is not sent]
    assert (reply.sender, reply.to) == ("WARTA", "+6281234567890")
    assert "dari Instansi Demo" in reply.body
    texts = (await sqlite_harness.get("/v2/received-text-messages", key="demo")).json()
    assert [t["content"] for t in texts["received_text_messages"]] == ["INFO"]
    # The harness's own agency (sender id DINASUJI) is not given the demo's reply.
    mine = (await sqlite_harness.get("/v2/received-text-messages")).json()
    assert mine["received_text_messages"] == []
