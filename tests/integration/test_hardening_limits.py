"""Limits Notify enforces, enforced by Warta when a send is accepted (issue 15, item 10):
each is a 400 in Notify's body and nothing is stored, on SQLite and PostgreSQL (which
would have refused a NUL with a 500 after SQLite stored it).

``scheduled_for`` from now (a minute of clock skew allowed) to 96 hours ahead, on bulk
jobs, citizen sends and broadcasts; personalisation of text, finite numbers and lists, at
most 2 MB, numbers and booleans written as JSON writes them; no NUL in any text; email
subjects of at most 998 characters once personalised (and any such subject gets through
a real SMTP server); at most 10 phone numbers (or addresses) per citizen from one agency.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.integration.console import sign_in as staff_sign_in
from tests.integration.console import text_of
from tests.integration.harness import Clock, Harness, auth_header, recording
from warta.channels.capture import CaptureHandler, CaptureSmtpServer
from warta.channels.email_smtp import SmtpChannel
from warta.domain.channels import Channel, OutboundMessage
from warta.domain.email import MAX_SUBJECT
from warta.domain.personalisation import MAX_BYTES
from warta.services.admin import create_template
from warta.store.models import Broadcast, Citizen, CitizenContact, Job, Notification, Topic
from warta.store.outbox import Outbox

NOW = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)  # 08.00 WIB
#: For limits checked before anything is written, where the store makes no difference:
#: SQLite only, to keep the suite's time (NUL and the contacts cap run on both).
ONE_STORE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


async def counts(harness: Harness) -> dict[str, int]:
    tables = (Notification, Job, Broadcast, Citizen, CitizenContact, Topic)
    async with harness.app.uow() as uow:
        return {
            t.__name__: int(await uow.session.scalar(select(func.count()).select_from(t)) or 0)
            for t in tables
        }


async def post_raw(harness: Harness, path: str, text: str) -> Any:
    """A body as written, so it can hold what ``json.dumps`` would not (``NaN``)."""
    headers = {**auth_header(harness.keys["live"]), "Content-Type": "application/json"}
    return await harness.client.post(path, content=text.encode(), headers=headers)


def refused(response: Any, error: str, message: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {
        "status_code": 400,
        "errors": [{"error": error, "message": message}],
    }


FAR = "scheduled_for datetime can only be up to 96 hours in the future"


async def multi(harness: Harness) -> str:
    made = await create_template(
        harness.app, harness.agency_id, kind="multi", name="pajak",
        subject="Pajak ((nopol))", body="Pajak ((nopol)) jatuh tempo.",
        sms_body="Pajak ((nopol)) jatuh tempo.",
    )  # fmt: skip
    return str(made.id)


@ONE_STORE
async def test_scheduled_for_outside_the_window_is_refused(harness: Harness) -> None:
    template = await multi(harness)
    sends = {
        "/v2/notifications/bulk": {
            "name": "nanti",
            "template_id": str(harness.sms_template),
            "rows": [["phone number", "nama", "nomor"], ["081234567001", "Budi", "1"]],
        },
        # Refused before the citizen is looked up: any id will do.
        "/v2/notifications": {"citizen_id": str(uuid.uuid4()), "template_id": template},
        "/v2/broadcasts": {"template_id": template, "region": "32"},
    }
    cases = [
        (NOW - timedelta(minutes=2), "scheduled_for datetime can not be in the past"),
        (NOW - timedelta(days=3650), "scheduled_for datetime can not be in the past"),
        (NOW + timedelta(hours=97), FAR),
    ]
    before = await counts(harness)
    for path, body in sends.items():
        for when, message in cases:
            sent = await harness.post(path, {**body, "scheduled_for": when.isoformat()})
            refused(sent, "ValidationError", message)
    assert await counts(harness) == before
    # Inside the window, a client's clock 30 s behind ours included: accepted.
    for when in (NOW + timedelta(hours=95), NOW - timedelta(seconds=30)):
        bulk = {**sends["/v2/notifications/bulk"], "scheduled_for": when.isoformat()}
        assert (await harness.post("/v2/notifications/bulk", bulk)).status_code == 201


NOT_A_VALUE = "personalisation.nama must be text, a number or a list of them"
NOT_FINITE = "personalisation.nama is not a finite number (NaN and Infinity are not JSON)"


@ONE_STORE
async def test_personalisation_only_text_numbers_and_lists_up_to_2_mb(
    harness: Harness, outbox: Outbox
) -> None:
    template = await multi(harness)
    paths = {
        "/v2/notifications/sms": (
            f'"phone_number": "081234567890", "template_id": "{harness.sms_template}"'
        ),
        "/v2/notifications": f'"citizen_id": "{uuid.uuid4()}", "template_id": "{template}"',
        "/v2/broadcasts": f'"region": "32", "template_id": "{template}"',
    }
    big = json.dumps("x" * MAX_BYTES)
    cases = [
        ('{"nama": {"kota": "Bandung"}, "nomor": 1, "nopol": 1}', "ValidationError", NOT_A_VALUE),
        ('{"nama": [["KTP"]], "nomor": 1, "nopol": 1}', "ValidationError", NOT_A_VALUE),
        ('{"nama": NaN, "nomor": 1, "nopol": 1}', "ValidationError", NOT_FINITE),
        ('{"nama": Infinity, "nomor": 1, "nopol": 1}', "ValidationError", NOT_FINITE),
        ('{"nama": -Infinity, "nomor": 1, "nopol": 1}', "ValidationError", NOT_FINITE),
        ('{"nama": 1e400, "nomor": 1, "nopol": 1}', "ValidationError", NOT_FINITE),
        (
            f'{{"nama": {big}, "nomor": 1, "nopol": 1}}',
            "ValidationError",
            f"personalisation is larger than {MAX_BYTES} bytes",
        ),
    ]
    before = await counts(harness)
    for path, fields in paths.items():
        for personalisation, error, message in cases:
            body = f'{{{fields}, "personalisation": {personalisation}}}'
            refused(await post_raw(harness, path, body), error, message)
    # An integer Python will not parse (over 4,300 digits) is a 400 too, not a 500.
    huge = f'{{{paths["/v2/notifications/sms"]}, "personalisation": {{"nama": 1{"0" * 5000}}}}}'
    refused(
        await post_raw(harness, "/v2/notifications/sms", huge),
        "BadRequestError",
        "There was an error parsing the body",
    )
    # NaN is no more welcome anywhere else in a body.
    citizen = '{"nik": "3273014101900002", "name": "Sri", "region_code": "32.73.01.1001", '
    refused(
        await post_raw(harness, "/v2/citizens", citizen + '"preferences": {"max_per_day": NaN}}'),
        "ValidationError",
        "preferences.max_per_day is not a finite number (NaN and Infinity are not JSON)",
    )
    assert await counts(harness) == before
    # What is taken reads as JSON writes it, never as Python does (True, 7.0, 1e+20).
    sent = await harness.send_sms(personalisation={"nama": True, "nomor": 7.0})
    assert sent.status_code == 201, sent.text
    assert sent.json()["content"]["body"] == "Halo true, antrean Anda nomor 7."
    listed = await harness.send_sms(personalisation={"nama": [1e20, False], "nomor": 10**30})
    assert listed.json()["content"]["body"] == (
        f"Halo 100000000000000000000 dan false, antrean Anda nomor 1{'0' * 30}."
    )


def nul_in(where: str) -> str:
    return f"{where} holds a NUL character (\\u0000), which Warta does not accept in text"


async def test_a_nul_in_any_text_is_refused(harness: Harness) -> None:
    """PostgreSQL cannot store U+0000 in text (a 500 there, stored on SQLite): refused in
    JSON bodies and console forms (portal forms share the check, ``form_refused``)."""
    nul = "\u0000"
    citizen = {"nik": "3273014101900002", "name": f"Sri{nul}", "region_code": "32.73.01.1001"}
    cases = [
        ("/v2/notifications/sms", {"reference": f"ref{nul}"}, "reference"),
        ("/v2/notifications/sms", {"personalisation": {"nama": nul}}, "personalisation.nama"),
        ("/v2/notifications/sms", {"personalisation": {f"n{nul}": 1}}, "personalisation.n\\u0000"),
        ("/v2/notifications/sms", {"phone_number": f"0812345678{nul}"}, "phone_number"),
        ("/v2/citizens", citizen, "name"),
        ("/v2/topics", {"slug": f"pajak{nul}", "name": "Pajak"}, "slug"),
    ]  # fmt: skip
    base = {"phone_number": "081234567890", "template_id": str(harness.sms_template),
            "personalisation": {"nama": "Budi", "nomor": 1}}  # fmt: skip
    for path, fields, where in cases:
        body = {**base, **fields} if path.endswith("/sms") else fields
        refused(await harness.post(path, body), "ValidationError", nul_in(where))
    # A console form too: the problem page, in the page's language.
    admin = await staff_sign_in(harness, "admin")
    await admin.client.get("/console/topics?lang=en")
    page = await admin.post("/console/topics", {"slug": "pajak", "name": f"Pajak{nul}"})
    assert page.status_code == 400, page.text
    assert "This form holds a NUL character, which Warta does not accept in text" in text_of(
        page.text
    )
    assert all(n == 0 for n in (await counts(harness)).values())


@ONE_STORE
async def test_an_email_subject_too_long_once_personalised_is_refused(harness: Harness) -> None:
    template = await multi(harness)
    long = "x" * 10_000
    message = f"Email subject is {len('Dokumen  siap') + 10_000} characters once personalised: at most {MAX_SUBJECT}"  # noqa: E501
    refused(
        await harness.send_email(personalisation={"nama": "Budi", "jenis": long}),
        "BadRequestError",
        message,
    )
    cited = {"citizen_id": str(uuid.uuid4()), "template_id": template}
    refused(
        await harness.post("/v2/notifications", {**cited, "personalisation": {"nopol": long}}),
        "BadRequestError",
        f"Email subject is {len('Pajak ') + 10_000} characters once personalised: at most {MAX_SUBJECT}",  # noqa: E501
    )
    assert all(n == 0 for n in (await counts(harness)).values())
    # At the limit it is taken.
    fits = "x" * (MAX_SUBJECT - len("Dokumen  siap"))
    sent = await harness.send_email(personalisation={"nama": "Budi", "jenis": fits})
    assert sent.status_code == 201, sent.text


async def test_the_longest_subject_taken_gets_through_smtp() -> None:
    """Unfolded, a 998-character word arrived with a stray space, and a longer one (a
    subject stored before the limit) made a line the relay refused ("500 Line too long"):
    accepted at the API, failed at SMTP. Folded, each arrives whole."""
    outbox = Outbox()
    server = CaptureSmtpServer(CaptureHandler(outbox))
    await server.start()
    channel = SmtpChannel(host=server.host, port=server.port, local_hostname="warta.test")
    try:
        for subject in ("x" * MAX_SUBJECT, "é" * MAX_SUBJECT, "Pajak " + "x" * 990, "x" * 5000):
            message = OutboundMessage(
                notification_id=uuid.uuid4().hex, attempt=1, channel="email",
                to="budi@example.com", sender="Dinas <dinas@uji.go.id>", body="Halo",
                subject=subject,
            )  # fmt: skip
            assert (await channel.send(message)).status == "delivered"
            assert outbox.list()[0].subject == subject  # newest first
    finally:
        await channel.aclose()
        await server.stop()


def phones(first: int, n: int) -> list[str]:
    return [f"0812345{number:05d}" for number in range(first, first + n)]


async def test_a_citizen_keeps_at_most_10_numbers_from_an_agency(harness: Harness) -> None:
    citizen = {"nik": "3273014101900002", "name": "Sri", "region_code": "32.73.01.1001"}
    refused(
        await harness.post("/v2/citizens", {**citizen, "phone_numbers": phones(0, 10_000)}),
        "ValidationError",
        "phone_numbers List should have at most 10 items after validation, not 10000",
    )
    assert all(n == 0 for n in (await counts(harness)).values())
    made = await harness.post("/v2/citizens", {**citizen, "phone_numbers": phones(0, 10)})
    assert made.status_code == 201, made.text
    too_many = (
        "Too many sms contacts: a citizen keeps at most 10 of a kind from each agency, "
        "and 10 of their own"
    )
    # Registering again with a new number, or adding one: the 11th is refused.
    again = await harness.post("/v2/citizens", {**citizen, "phone_numbers": phones(10, 1)})
    refused(again, "BadRequestError", too_many)
    added = await harness.post(
        f"/v2/citizens/{made.json()['id']}/contacts", {"type": "sms", "value": phones(11, 1)[0]}
    )
    refused(added, "BadRequestError", too_many)
    assert (await counts(harness))["CitizenContact"] == 10
    # Another kind is still room.
    email = {"type": "email", "value": "sri@contoh.id"}
    assert (await harness.post(f"/v2/citizens/{made.json()['id']}/contacts", email)).is_success
