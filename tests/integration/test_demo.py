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
