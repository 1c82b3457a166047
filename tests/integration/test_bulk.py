"""Bulk sends as GC Notify takes them: every row checked first, then one job with progress."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.integration.harness import Harness
from warta.services import bulk_rows


async def job_done(harness: Harness, job_id: str, count: int) -> dict[str, object]:
    for _ in range(100):
        data = (await harness.get(f"/v2/notifications/bulk/{job_id}")).json()["data"]
        if data["statistics"] == [{"status": "delivered", "count": count}]:
            return dict(data)
        await asyncio.sleep(0.1)
    raise AssertionError(f"job not delivered: {data}")


async def test_rows_become_one_job_whose_progress_shows(harness: Harness) -> None:
    rows = [
        ["phone number", "nama", "nomor"],
        ["0812-3456-7001", "Budi", "1"],
        ["+6281234567002", "Sri", "2"],
        ["81234567003", "Agus", "3"],
    ]
    made = await harness.post(
        "/v2/notifications/bulk",
        {"name": "antrean.csv", "template_id": str(harness.sms_template), "rows": rows},
    )
    assert made.status_code == 201, made.text
    job = made.json()["data"]
    assert (job["notification_count"], job["original_file_name"]) == (3, "antrean.csv")
    await job_done(harness, job["id"], 3)
    texts = await harness.app.outbox.wait_for(3)
    assert sorted(t.body for t in texts) == [
        "Halo Agus, antrean Anda nomor 3.",
        "Halo Budi, antrean Anda nomor 1.",
        "Halo Sri, antrean Anda nomor 2.",
    ]


async def test_one_bad_row_refuses_the_job_and_names_each_bad_row(harness: Harness) -> None:
    csv_text = (
        "Phone Number,nama,nomor\n0812-3456-7001,Budi,1\n0812,Sri,2\n,Agus,3\n0812-3456-7004,,4\n"
    )
    refused = await harness.post(
        "/v2/notifications/bulk",
        {"name": "salah.csv", "template_id": str(harness.sms_template), "csv": csv_text},
    )
    assert refused.status_code == 400
    message = refused.json()["errors"][0]["message"]
    assert message.startswith("Some rows have errors. ")
    assert "Row 2 - `Phone Number`: Not enough digits" in message
    assert "Row 3 - `Phone Number`: Missing" in message
    assert "Row 4 - Missing personalisation: nama" in message
    assert "Row 1" not in message
    listed = (await harness.get("/v2/notifications")).json()["notifications"]
    assert listed == []  # nothing of the job was stored


async def test_bulk_input_is_checked(harness: Harness) -> None:
    template = str(harness.sms_template)
    cases = [
        ({"name": "x", "template_id": template, "rows": [["nama"], ["Budi"]]}, "Missing column"),
        ({"name": "x", "template_id": template, "rows": [["phone number"]]}, "header row"),
        ({"name": "x", "template_id": template}, "exactly one of rows and csv"),
    ]
    for body, message in cases:
        refused = await harness.post("/v2/notifications/bulk", body)
        assert refused.status_code == 400 and message in refused.json()["errors"][0]["message"]


async def test_a_scheduled_job_waits(harness: Harness) -> None:
    later = datetime.now(UTC) + timedelta(hours=2)
    made = await harness.post(
        "/v2/notifications/bulk",
        {
            "name": "nanti",
            "template_id": str(harness.email_template),
            "rows": [["email address", "nama", "jenis"], ["budi@contoh.id", "Budi", "KTP"]],
            "scheduled_for": later.isoformat(),
        },
    )
    assert made.status_code == 201, made.text
    await asyncio.sleep(0.5)
    data = (await harness.get(f"/v2/notifications/bulk/{made.json()['data']['id']}")).json()
    assert data["data"]["statistics"] == [{"status": "created", "count": 1}]
    assert len(harness.app.outbox) == 0


async def test_a_csv_over_the_row_limit_is_refused_before_its_rows_are_checked(
    harness: Harness,
) -> None:
    too_many = "phone number,nama,nomor\n" + "081234567001,Budi,1\n" * (bulk_rows.MAX_ROWS + 1)
    refused = await harness.post(
        "/v2/notifications/bulk",
        {"name": "besar.csv", "template_id": str(harness.sms_template), "csv": too_many},
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"] == [
        {
            "error": "ValidationError",
            "message": "Too many rows: at most 50000 recipients in one job",
        }
    ]
    assert (await harness.get("/v2/notifications")).json()["notifications"] == []
