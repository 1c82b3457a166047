"""The limits a send is held to when it is accepted (issue 15, item 10): the scheduling
window, what a personalisation may hold and how its values read, the email subject's
length, the contacts a citizen keeps per holder. Pure rules, exact messages."""

from __future__ import annotations

import email
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email import policy

import pytest

from warta.channels.email_smtp import build_email
from warta.domain import personalisation, scheduling
from warta.domain.channels import OutboundMessage
from warta.domain.citizens import MAX_CONTACTS, InvalidCitizen, check_contact_room
from warta.domain.email import MAX_SUBJECT, SubjectTooLong, check_subject
from warta.errors import InvalidInput

NOW = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
PAST = "scheduled_for datetime can not be in the past"
FAR = "scheduled_for datetime can only be up to 96 hours in the future"
ZONE = "scheduled_for needs a time zone, like 2026-12-01T08:00:00+07:00"


@pytest.mark.parametrize(
    ("when", "message"),
    [
        pytest.param(None, None, id="none-is-now"),
        pytest.param(NOW, None, id="now"),
        pytest.param(NOW - timedelta(seconds=59), None, id="skew-59s-behind"),
        pytest.param(NOW - timedelta(seconds=61), PAST, id="61s-past"),
        pytest.param(NOW - timedelta(days=400), PAST, id="last-year"),
        pytest.param(NOW + timedelta(hours=96), None, id="96h"),
        pytest.param(NOW + timedelta(hours=96, seconds=60), None, id="96h-plus-skew"),
        pytest.param(NOW + timedelta(hours=96, seconds=61), FAR, id="96h-61s"),
        pytest.param(NOW + timedelta(hours=97), FAR, id="97h"),
        pytest.param(datetime(9999, 12, 31, 23, 59, tzinfo=UTC), FAR, id="year-9999"),
        pytest.param(
            (NOW + timedelta(hours=1)).astimezone(timezone(timedelta(hours=9))), None, id="WIT"
        ),
        pytest.param(datetime(2026, 12, 5, 8, 0), ZONE, id="naive"),
    ],
)
def test_scheduled_for_window(when: datetime | None, message: str | None) -> None:
    if message is None:
        scheduling.check_scheduled_for(when, NOW)
        return
    with pytest.raises(scheduling.InvalidTime) as raised:
        scheduling.check_scheduled_for(when, NOW)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("when", "message"),
    [
        pytest.param(NOW + timedelta(days=30), None, id="a-month"),
        pytest.param(NOW - timedelta(days=1), None, id="past-is-the-callers-to-judge"),
        pytest.param(NOW + timedelta(days=367), "expires_at is more than a year ahead", id="367d"),
        pytest.param(
            datetime(2026, 12, 6),
            "expires_at needs a time zone, like 2026-12-01T08:00:00+07:00",
            id="naive",
        ),
    ],
)
def test_expires_at_bound(when: datetime, message: str | None) -> None:
    if message is None:
        scheduling.check_expires_at(when, NOW)
        return
    with pytest.raises(scheduling.InvalidTime) as raised:
        scheduling.check_expires_at(when, NOW)
    assert str(raised.value) == message


KIND = "personalisation.x must be text, a number or a list of them"
FINITE = "personalisation.x is not a finite number"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("Budi", None, id="text"),
        pytest.param(7, None, id="int"),
        pytest.param(10**400, None, id="big-int-is-a-json-number"),
        pytest.param(1.5, None, id="float"),
        pytest.param(True, None, id="bool"),
        pytest.param(None, None, id="null-is-missing"),
        pytest.param(["KTP", 2, None], None, id="list"),
        pytest.param({"kota": "Bandung"}, KIND, id="dict"),
        pytest.param([["a"]], KIND, id="nested-list"),
        pytest.param([{"a": 1}], KIND, id="dict-in-list"),
        pytest.param(math.nan, FINITE, id="nan"),
        pytest.param(math.inf, FINITE, id="infinity"),
        pytest.param(-math.inf, FINITE, id="minus-infinity"),
        pytest.param(float("1e400"), FINITE, id="1e400-is-infinity"),
        pytest.param([1, math.nan], FINITE, id="nan-in-list"),
    ],
)
def test_personalisation_values(value: object, message: str | None) -> None:
    if message is None:
        personalisation.check({"x": value})
        return
    with pytest.raises(personalisation.InvalidPersonalisation) as raised:
        personalisation.check({"x": value})
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("size", "refused"),
    [
        # {"x":"..."} is 8 bytes around the value; é is 2 bytes in UTF-8.
        pytest.param(personalisation.MAX_BYTES - 8, False, id="at-the-cap"),
        pytest.param(personalisation.MAX_BYTES - 7, True, id="one-byte-over"),
    ],
)
def test_personalisation_size_counts_utf8_json(size: int, refused: bool) -> None:
    value = "é" * (size // 2) + "a" * (size % 2)
    if not refused:
        personalisation.check({"x": value})
        return
    with pytest.raises(InvalidInput, match="personalisation is larger than 2000000 bytes"):
        personalisation.check({"x": value})


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param("Budi", "Budi", id="text"),
        pytest.param(True, "true", id="true"),
        pytest.param(False, "false", id="false"),
        pytest.param(7, "7", id="int"),
        pytest.param(7.0, "7", id="whole-float"),
        pytest.param(-0.0, "0", id="minus-zero"),
        pytest.param(0.1, "0.1", id="fraction"),
        pytest.param(1e20, "100000000000000000000", id="1e20-plain"),
        pytest.param(1e21, "1e+21", id="1e21-exponent-as-json"),
        pytest.param(10**30, "1" + "0" * 30, id="big-int-digits"),
    ],
)
def test_values_read_as_json_writes_them(value: object, shown: str) -> None:
    assert personalisation.as_text(value) == shown


@pytest.mark.parametrize(
    ("subject", "refused"),
    [
        pytest.param("x" * MAX_SUBJECT, False, id="998"),
        pytest.param("x" * (MAX_SUBJECT + 1), True, id="999"),
        pytest.param("  a\n" + "b" * (MAX_SUBJECT - 2), False, id="whitespace-made-one-space"),
        pytest.param("é" * 10_000, True, id="10000"),
    ],
)
def test_subject_length(subject: str, refused: bool) -> None:
    if not refused:
        check_subject(subject)
        return
    with pytest.raises(SubjectTooLong, match=f"at most {MAX_SUBJECT}"):
        check_subject(subject)


@pytest.mark.parametrize(
    "subject",
    [
        pytest.param("x" * MAX_SUBJECT, id="one-long-word"),
        pytest.param("Pajak " + "x" * 990, id="words-and-a-long-one"),
        pytest.param(("kata " * 199).strip(), id="many-words"),
        pytest.param("é" * MAX_SUBJECT, id="non-ascii"),
    ],
)
def test_any_accepted_subject_is_folded_onto_short_lines(subject: str) -> None:
    """What a relay refuses is a line over 998 octets: a long subject is folded, and reads
    back whole."""
    message = OutboundMessage(
        notification_id="abc",
        attempt=1,
        channel="email",
        to="budi@example.com",
        sender="Dinas <dinas@uji.go.id>",
        body="Halo",
        subject=subject,
    )
    wire, _ = build_email(message)
    assert max(len(line) for line in wire.split(b"\r\n")) <= 100
    parsed = email.message_from_bytes(wire, policy=policy.default)
    assert str(parsed["Subject"]) == subject


@dataclass
class Held:
    kind: str
    scope: str
    gone_at: datetime | None = None


AGENCY = "3f1c8d34-0000-0000-0000-000000000001"
OTHER = "3f1c8d34-0000-0000-0000-000000000002"
TOO_MANY_SMS = (
    "Too many sms contacts: a citizen keeps at most 10 of a kind from each agency, "
    "and 10 of their own"
)


@pytest.mark.parametrize(
    ("adding", "held", "message"),
    [
        pytest.param(["sms"], [Held("sms", AGENCY)] * 9, None, id="tenth"),
        pytest.param(["sms"], [Held("sms", AGENCY)] * 10, TOO_MANY_SMS, id="eleventh"),
        pytest.param(["sms"] * 11, [], TOO_MANY_SMS, id="eleven-at-once"),
        pytest.param(["sms"], [Held("sms", OTHER)] * 10, None, id="another-agencys-dont-count"),
        pytest.param(["sms"], [Held("sms", AGENCY, NOW)] * 10, None, id="gone-ones-dont-count"),
        pytest.param(["email"], [Held("sms", AGENCY)] * 12, None, id="other-kind-over-cap"),
        pytest.param(["push"], [Held("push", AGENCY)] * 19, None, id="push-twentieth"),
    ],
)
def test_contacts_per_holder(adding: list[str], held: list[Held], message: str | None) -> None:
    if message is None:
        check_contact_room(adding, AGENCY, held)
        return
    with pytest.raises(InvalidCitizen) as raised:
        check_contact_room(adding, AGENCY, held)
    assert str(raised.value) == message
    assert MAX_CONTACTS["sms"] == 10
