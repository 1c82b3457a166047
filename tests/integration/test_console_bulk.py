"""The console's bulk send, topics and broadcasts, as a browser without JavaScript uses
them: a spreadsheet checked row by row before anything is sent, then sent and watched;
topics created and counted; a broadcast to a region that reaches exactly its citizens,
with its progress, and one cancelled; and roles without the permission change nothing."""

from __future__ import annotations

import asyncio
import re
import tempfile

import pytest
from sqlalchemy import func, select

from tests.integration.console import Staffer, rows_of, sign_in, text_of
from tests.integration.harness import Clock, Harness, code_in, recording, wib
from tests.spreadsheets import xlsx
from warta.domain.channels import Channel
from warta.services.admin import create_template
from warta.store.models import Broadcast, Job, Notification
from warta.store.outbox import Outbox

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


@pytest.fixture
def clock() -> Clock:
    return Clock(wib(1, 10))  # a Tuesday morning: outside citizens' quiet hours


async def stored(harness: Harness, table: type = Job) -> tuple[int, int]:
    """Rows of ``table`` (jobs, broadcasts) and notifications in the database."""
    async with harness.app.uow() as uow:
        made = await uow.session.scalar(select(func.count()).select_from(table))
        sent = await uow.session.scalar(select(func.count()).select_from(Notification))
    return int(made or 0), int(sent or 0)


async def upload(
    staffer: Staffer, harness: Harness, name: str, data: bytes, kind: str = CSV
) -> str | None:
    """Checks a file for the SMS template; the report page, or None if it refused."""
    response = await staffer.client.post(
        "/console/bulk/check",
        data={"template": str(harness.sms_template), "csrf_token": await staffer.csrf()},
        files={"file": (name, data, kind)},
    )
    return response.text if response.status_code == 200 else None


async def page_until(staffer: Staffer, path: str, wanted: str, timeout: float = 10.0) -> str:
    """The page once it shows ``wanted`` (progress pages change as messages move)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        shown = text_of((await staffer.client.get(path)).text)
        if wanted in shown:
            return shown
        assert loop.time() < deadline, f"{wanted!r} never appeared on {path}: {shown}"
        await asyncio.sleep(0.05)


# -- bulk send ---------------------------------------------------------------------------


async def test_a_file_with_a_bad_row_gets_a_report_naming_it_and_nothing_is_sent(
    harness: Harness, outbox: Outbox
) -> None:
    sender = await sign_in(harness, "sender")
    indonesian = await sender.client.get("/console/bulk")
    assert "Periksa berkas" in indonesian.text  # Indonesian first, as a person sees it
    form = await sender.client.get("/console/bulk?lang=en")  # English from here on
    assert form.status_code == 200
    assert 'type="file"' in form.text and 'accept=".csv,.xlsx"' in form.text
    assert ["antrean", "phone number or nomor telepon or no hp", "nama, nomor"] in rows_of(
        form.text, "The columns each template needs"
    )

    csv_text = (
        "phone number,nama,nomor\n"
        "0812-3456-7001,Budi,1\n"
        "0812,Sri,2\n"  # spreadsheet row 3: too short
        "\n"  # a blank row is skipped but still counted, as the spreadsheet numbers it
        "0812-3456-7005,,5\n"  # row 5: nama left empty
    )
    report = await upload(sender, harness, "antrean.csv", csv_text.encode())
    assert report is not None
    shown = text_of(report)
    assert "2 of 3 rows have a problem. Nothing was sent." in shown
    assert "a list is sent only when every row is right" in shown
    assert rows_of(report, "Rows with a problem") == [
        ["3", "phone number", "Not enough digits"],
        ["5", "nama", "Empty: the message needs a value here"],
    ]
    assert 'action="/console/bulk/send"' not in report  # no way to send a bad list
    assert await stored(harness) == (0, 0)
    assert len(outbox) == 0


async def test_an_indonesian_report_gives_each_rows_problem_in_indonesian(
    harness: Harness, outbox: Outbox
) -> None:
    sender = await sign_in(harness, "sender")
    long_name = "x" * 1000  # the SMS would be far over the 918-character cap
    csv_text = f"phone number,nama,nomor\n0812,Sri,2\n0812-3456-7003,{long_name},3\n"
    report = await upload(sender, harness, "antrean.csv", csv_text.encode())
    assert report is not None
    length = len(f"Halo {long_name}, antrean Anda nomor 3.")  # 1028, written 1.028 in Indonesian
    written = f"{length:,}".replace(",", ".")
    assert "2 dari 2 baris bermasalah. Tidak ada yang dikirim." in text_of(report)
    assert rows_of(report, "Baris yang bermasalah") == [
        ["2", "phone number", "Digitnya kurang"],
        [
            "3",
            "Seluruh baris",
            "Pesan Anda terlalu panjang. Pesan SMS tidak boleh lebih dari 918 karakter. "
            f"Pesan Anda sepanjang {written} karakter.",
        ],
    ]
    assert await stored(harness) == (0, 0)
    assert len(outbox) == 0


async def test_an_xlsx_with_every_row_right_is_sent_and_its_progress_shown(
    harness: Harness, outbox: Outbox
) -> None:
    sender = await sign_in(harness, "sender")
    await sender.client.get("/console/bulk?lang=en")
    data = xlsx(
        [
            ["Phone Number", "nama", "nomor"],
            [81234567001, "Budi", 1],  # a number typed as a number: its leading 0 dropped
            ["0812-3456-7002", "Sri", 2],
            ["+6281234567003", "Agus", 3],
        ]
    )
    report = await upload(sender, harness, "antrean.xlsx", data, XLSX)
    assert report is not None
    assert "All 3 rows are ready to send." in text_of(report)
    assert rows_of(report, "The first rows of the file")[0] == ["2", "81234567001", "Budi", "1"]
    held = re.search(r'name="upload" value="([^"]+)"', report)
    assert held and "Budi" not in held.group(1)  # the rows wait sealed, not readable
    assert "Send 3 messages" in report
    assert await stored(harness) == (0, 0)  # checking sends nothing

    sent = await sender.post("/console/bulk/send", {"upload": held.group(1)})
    assert sent.status_code == 303
    job_path = sent.headers["location"]
    assert re.fullmatch(r"/console/jobs/[0-9a-f-]{36}", job_path)
    messages = await outbox.wait_for(3)
    assert sorted((m.to, m.body) for m in messages) == [
        ("+6281234567001", "Halo Budi, antrean Anda nomor 1."),
        ("+6281234567002", "Halo Sri, antrean Anda nomor 2."),
        ("+6281234567003", "Halo Agus, antrean Anda nomor 3."),
    ]
    shown = await page_until(sender, job_path, "3 of 3 messages finished.")
    assert "Bulk send: antrean.xlsx" in shown and "Nothing more is being sent." in shown
    progress = (await sender.client.get(job_path)).text
    assert '<progress aria-labelledby="progress-heading" max="3" value="3">' in progress
    assert ["Delivered", "3"] in rows_of(progress, "Messages by status")


async def test_files_that_cannot_be_read_are_refused_with_a_clear_message(
    harness: Harness,
) -> None:
    sender = await sign_in(harness, "sender")
    await sender.client.get("/console/bulk?lang=en")
    refusals = [
        ("daftar.pdf", b"%PDF-1.7", "Upload a .csv or .xlsx file"),
        ("kosong.csv", b"", "The file is empty"),
        ("kosong.csv", b"\n\n", "The file is empty"),
        ("palsu.xlsx", b"phone number\n0812", "This file is not an XLSX spreadsheet"),
        ("latin.csv", "phone number,nama\n0812,Zoë\n".encode("latin-1"), "is not UTF-8"),
        ("tanpa.csv", b"nama,nomor\nBudi,1\n", "Missing column: 'phone number'"),
    ]
    for name, data, message in refusals:
        response = await sender.client.post(
            "/console/bulk/check",
            data={"template": str(harness.sms_template), "csrf_token": await sender.csrf()},
            files={"file": (name, data, "application/octet-stream")},
        )
        assert response.status_code == 400, (name, response.text)
        assert message in text_of(response.text), name
        assert 'role="alert"' in response.text
    assert await stored(harness) == (0, 0)


async def test_a_file_too_big_for_memory_is_refused_unread(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past 1 MiB Starlette would write the upload to a temporary file while parsing it:
    the list is turned away from its length alone, and nothing reaches the disk."""
    spilled: list[int] = []
    rollover = tempfile.SpooledTemporaryFile.rollover

    def spy(self: tempfile.SpooledTemporaryFile[bytes]) -> None:
        spilled.append(1)
        rollover(self)

    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover", spy)
    sender = await sign_in(harness, "sender")
    await sender.client.get("/console/bulk?lang=en")
    big = b"phone number\n" + b"081234567001\n" * 90_000  # 1.17 MB
    response = await sender.client.post(
        "/console/bulk/check",
        data={"template": str(harness.sms_template), "csrf_token": await sender.csrf()},
        files={"file": ("besar.csv", big, "text/csv")},
    )
    assert response.status_code == 413
    assert "The file is larger than 1 MB: split it into smaller files" in text_of(response.text)
    assert spilled == []
    assert await stored(harness) == (0, 0)

    # Media types are case-insensitive: a capitalised one, unauthenticated, 30 MB, is
    # refused from its length before the sign-in redirect, and still nothing spills.
    anonymous = harness.client
    boundary = "warta"
    thirty = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="besar.csv"\r\nContent-Type: text/csv\r\n\r\n'
        ).encode()
        + b"0" * 30_000_000
        + f"\r\n--{boundary}--\r\n".encode()
    )
    for media in ("Multipart/Form-Data", "MULTIPART/FORM-DATA"):
        response = await anonymous.post(
            "/console/bulk/check?lang=en",
            content=thirty,
            headers={"Content-Type": f"{media}; boundary={boundary}"},
        )
        assert response.status_code == 413, media
        assert "The file is larger than 1 MB" in text_of(response.text)
    assert spilled == []
    assert await stored(harness) == (0, 0)


async def test_a_viewer_cannot_bulk_send_and_an_upload_is_only_its_checkers(
    harness: Harness, outbox: Outbox
) -> None:
    sender = await sign_in(harness, "sender")
    one_row = b"phone number,nama,nomor\n081234567001,Budi,1\n"
    report = await upload(sender, harness, "a.csv", one_row)
    assert report is not None
    held = re.search(r'name="upload" value="([^"]+)"', report)
    assert held

    viewer = await sign_in(harness, "viewer")
    assert (await viewer.client.get("/console/bulk")).status_code == 403
    checked = await viewer.client.post(
        "/console/bulk/check",
        data={"template": str(harness.sms_template), "csrf_token": await viewer.csrf()},
        files={"file": ("a.csv", one_row, CSV)},
    )
    assert checked.status_code == 403
    assert (await viewer.post("/console/bulk/send", {"upload": held.group(1)})).status_code == 403

    # Another sender holding the first one's page cannot send its list.
    other = await sign_in(harness, "sender", "sender2@uji.go.id")
    await other.client.get("/console/bulk?lang=en")
    taken = await other.post("/console/bulk/send", {"upload": held.group(1)})
    assert taken.status_code == 400
    assert "upload the file again" in text_of(taken.text)
    assert await stored(harness) == (0, 0)
    assert len(outbox) == 0


# -- topics --------------------------------------------------------------------------------


async def test_an_editor_creates_topics_that_everyone_can_see_with_their_subscribers(
    harness: Harness, outbox: Outbox
) -> None:
    editor = await sign_in(harness, "editor")
    assert "Buat topik" in (await editor.client.get("/console/topics")).text
    await editor.client.get("/console/topics?lang=en")
    made = await editor.post("/console/topics", {"slug": "pajak-kendaraan", "name": "Pajak"})
    assert (made.status_code, made.headers["location"]) == (303, "/console/topics?done=created")
    again = await editor.post("/console/topics", {"slug": "pajak-kendaraan", "name": "Lagi"})
    assert again.status_code == 400
    assert "Topic 'pajak-kendaraan' already exists" in text_of(again.text)
    bad = await editor.post("/console/topics", {"slug": "pajak kendaraan!", "name": "x"})
    assert bad.status_code == 400 and "slug must be" in text_of(bad.text)

    [citizen] = await citizens_in(harness, outbox, "32.73.01.1001", 1)
    consent = {"granted": True, "topic": "pajak-kendaraan", "source": "portal",
               "text_shown": "Saya ingin menerima pengingat pajak."}  # fmt: skip
    granted = await harness.post(f"/v2/citizens/{citizen}/consents", consent)
    assert granted.status_code == 201, granted.text

    viewer = await sign_in(harness, "viewer")
    listing = await viewer.client.get("/console/topics?lang=en")
    assert listing.status_code == 200
    assert rows_of(listing.text, "This agency's topics") == [["Pajak", "pajak-kendaraan", "1"]]
    assert 'action="/console/topics"' not in listing.text  # no form for a viewer
    refused = await viewer.post("/console/topics", {"slug": "lain", "name": "Lain"})
    sender = await sign_in(harness, "sender")
    refused_too = await sender.post("/console/topics", {"slug": "lain", "name": "Lain"})
    assert (refused.status_code, refused_too.status_code) == (403, 403)
    listing = await viewer.client.get("/console/topics")
    assert len(rows_of(listing.text, "This agency's topics")) == 1


# -- broadcasts ----------------------------------------------------------------------------


@pytest.fixture
async def multi_template(harness: Harness) -> str:
    made = await create_template(
        harness.app, harness.agency_id, kind="multi", name="pajak",
        subject="Pajak kendaraan ((nopol))",
        body="Yth. warga, pajak kendaraan ((nopol)) jatuh tempo.",
        sms_body="Pajak ((nopol)) jatuh tempo. Bapenda",
    )  # fmt: skip
    return str(made.id)


async def citizens_in(harness: Harness, outbox: Outbox, region: str, count: int) -> list[str]:
    """Citizens of ``region`` with a verified phone each, registered through the API."""
    ids = []
    for n in range(count):
        digits = region.replace(".", "")
        body = {
            "nik": f"{digits[:6]}0101900{n + 1:03d}",
            "name": f"Warga {n}",
            "region_code": region,
            "phone_numbers": [f"08129{digits[:4]}{n:03d}"],
        }
        made = await harness.post("/v2/citizens", body)
        assert made.status_code == 201, made.text
        citizen = made.json()
        [contact] = citizen["contacts"]
        before = len(outbox)
        path = f"/v2/citizens/{citizen['id']}/contacts"
        added = await harness.post(path, {"type": contact["type"], "value": contact["value"]})
        assert added.status_code == 201, added.text
        code = code_in((await outbox.wait_for(before + 1))[0].body)
        verified = await harness.post(f"{path}/{contact['id']}/verify", {"code": code})
        assert verified.status_code == 200, verified.text
        ids.append(citizen["id"])
    outbox.clear()
    return ids


async def test_a_broadcast_from_the_console_reaches_the_region_and_shows_its_counts(
    harness: Harness, outbox: Outbox, multi_template: str
) -> None:
    await citizens_in(harness, outbox, "32.73.01.1001", 2)  # Bandung
    await citizens_in(harness, outbox, "31.71.02.1001", 1)  # Jakarta: not this region
    sender = await sign_in(harness, "sender")
    indonesian = await sender.client.get(f"/console/broadcasts?template={multi_template}")
    assert "Mulai siaran" in indonesian.text
    form = await sender.client.get(f"/console/broadcasts?lang=en&template={multi_template}")
    assert 'name="p:nopol"' in form.text and 'name="region"' in form.text

    missing = await sender.post(
        "/console/broadcasts", {"template": multi_template, "region": "32.73"}
    )
    assert missing.status_code == 400
    assert "Fill in every field. Missing: nopol" in text_of(missing.text)
    nowhere = await sender.post(
        "/console/broadcasts", {"template": multi_template, "p:nopol": "D 1234 XY"}
    )
    assert nowhere.status_code == 400 and "a topic, a region or both" in text_of(nowhere.text)
    assert (await stored(harness, Broadcast))[0] == 0  # (the 3 sent were sign-up codes)

    made = await sender.post(
        "/console/broadcasts",
        {"template": multi_template, "region": "32.73", "p:nopol": "D 1234 XY"},
    )
    assert made.status_code == 303
    path = made.headers["location"]
    texts = await outbox.wait_for(2)
    assert sorted(m.to for m in texts) == ["+6281293273000", "+6281293273001"]
    assert {m.body for m in texts} == {"Pajak D 1234 XY jatuh tempo. Bapenda"}
    shown = await page_until(sender, path, "2 of 2 messages finished.")
    assert "Region code 32.73" in shown and "Every citizen found" in shown
    assert ["Delivered", "2"] in rows_of((await sender.client.get(path)).text, "Messages by status")
    assert "Cancel this broadcast" not in shown  # nothing left to cancel

    viewer = await sign_in(harness, "viewer")
    listing = await viewer.client.get("/console/broadcasts?lang=en")
    [row] = rows_of(listing.text, "This agency's broadcasts, newest first")
    assert row[1:] == ["pajak", "Region 32.73", "Every citizen found", "2 of 2 finished"]
    assert "Start the broadcast" not in listing.text  # a viewer cannot start one
    refused = await viewer.post(
        "/console/broadcasts",
        {"template": multi_template, "region": "31", "p:nopol": "B 1 A"},
    )
    assert refused.status_code == 403
    assert len(rows_of((await viewer.client.get("/console/broadcasts")).text,
                       "This agency's broadcasts, newest first")) == 1  # fmt: skip


async def test_cancelling_a_broadcast_cancels_what_waits(
    harness: Harness, outbox: Outbox, multi_template: str, clock: Clock
) -> None:
    await citizens_in(harness, outbox, "32.73.01.1001", 2)
    clock.set(wib(1, 23))  # quiet hours: every message waits until 06:00
    sender = await sign_in(harness, "sender")
    await sender.client.get("/console/broadcasts?lang=en")
    made = await sender.post(
        "/console/broadcasts", {"template": multi_template, "region": "32", "p:nopol": "D 1"}
    )
    path = made.headers["location"]
    shown = await page_until(sender, path, "Every citizen found")
    assert "0 of 2 messages finished." in shown and "Cancel this broadcast" in shown

    viewer = await sign_in(harness, "viewer")
    assert (await viewer.post(f"{path}/cancel", {})).status_code == 403

    cancelled = await sender.post(f"{path}/cancel", {})
    assert (cancelled.status_code, cancelled.headers["location"]) == (303, f"{path}?done=cancelled")
    after = await sender.client.get(cancelled.headers["location"])
    shown = text_of(after.text)
    assert "The broadcast is cancelled: nothing more of it is sent." in shown
    assert "2 of 2 messages finished." in shown and "Cancel this broadcast" not in shown
    assert ["Cancelled", "2"] in rows_of(after.text, "Messages by status")
    assert len(outbox) == 0


async def test_a_scheduled_broadcast_says_when_it_starts_and_can_be_called_off(
    harness: Harness, outbox: Outbox, multi_template: str
) -> None:
    await citizens_in(harness, outbox, "32.73.01.1001", 1)
    sender = await sign_in(harness, "sender")
    await sender.client.get("/console/broadcasts?lang=en")
    late = {"template": multi_template, "region": "32", "p:nopol": "D 1"}
    bad_time = await sender.post("/console/broadcasts", {**late, "scheduled_for": "besok pagi"})
    assert bad_time.status_code == 400
    assert "Give the time like 2026-12-01 08:00" in text_of(bad_time.text)

    made = await sender.post("/console/broadcasts", {**late, "scheduled_for": "2026-12-02T08:00"})
    path = made.headers["location"]
    page = await sender.client.get(path)
    shown = text_of(page.text)
    assert "Sending starts at 2 Dec 2026 08:00 WIB." in shown  # staff read WIB (issue 15)
    assert "Not started yet" in shown and "Cancel this broadcast" in shown
    assert "data-running" not in page.text  # nothing to refresh for until then

    cancelled = await sender.post(f"{path}/cancel", {})
    shown = text_of((await sender.client.get(cancelled.headers["location"])).text)
    assert "Status Cancelled" in shown and "0 messages finished." in shown
    assert (await stored(harness, Broadcast))[0] == 1 and len(outbox) == 0
