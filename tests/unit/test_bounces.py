"""Reading bounces and complaints (warta.domain.bounces): every fixture in
tests/fixtures/bounces, then VERP addresses and redaction.

Each fixture is a real format written out by hand (Postfix, Exim, Exchange 2003 and
Exchange Online, Gmail, Yahoo, an ISP's feedback loop), returning a Warta email whose
notification id is ``NID``; its citizen's address must never reach a reason.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from pathlib import Path

import pytest

from warta.domain.bounces import (
    Feedback,
    Recipient,
    is_at_domain,
    read_report,
    recipient,
    redact,
    verp_address,
    verp_notification,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "bounces"
NID = uuid.UUID("6f1c2b9e-4d3a-4e8b-9a51-0c7d2e4f8a13")
#: The local parts of the citizens the fixtures bounced for: none may reach a reason.
CITIZENS = ("budi", "siti", "rina", "agus", "dewi", "joko", "putri", "hendra", "andi")


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# (fixture, kind, status, start of the reason); kind None: not a bounce nor a complaint.
READS = [
    pytest.param(
        "postfix-hard-5.1.1.eml",
        "hard",
        "5.1.1",
        "550 5.1.1 <address>: Recipient address rejected: User unknown in virtual mailbox table",
        id="postfix-dsn-user-unknown",
    ),
    pytest.param(
        "postfix-soft-4.2.2.eml",
        "soft",
        "4.2.2",
        "452 4.2.2 <address>: Mailbox full",
        id="postfix-dsn-delayed-mailbox-full",
    ),
    pytest.param(
        "exim-mail-delivery-failed.eml",
        "hard",
        "5.1.1",
        "550 5.1.1 <address>... No such user here",
        id="exim-mail-delivery-failed",
    ),
    pytest.param(
        "exchange2003-ndr.eml",
        "hard",
        "5.1.1",
        "The e-mail account does not exist at the organization this message was sent to.",
        id="exchange-2003-ndr",
    ),
    pytest.param(
        "exchange-online-dsn-5.1.10.eml",
        "hard",
        "5.1.10",
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        id="exchange-online-dsn",
    ),
    pytest.param(
        "gmail-dsn-5.1.1.eml",
        "hard",
        "5.1.1",
        "550 5.1.1 The email account that you tried to reach does not exist. Please try "
        "double-checking the recipient's email address",
        id="gmail-dsn-multiline-reply",
    ),
    pytest.param(
        "yahoo-failure-notice.eml",
        "hard",
        "5.0.0",
        "554: delivery error: dd This user doesn't have a yahoo.example.com account (<address>)",
        id="yahoo-failure-notice",
    ),
    pytest.param(
        "yahoo-arf-complaint.eml",
        "complaint",
        "",
        "abuse report (Yahoo!-Mail-Feedback/2.0)",
        id="yahoo-arf-abuse",
    ),
    pytest.param(
        "arf-abuse-headers-only.eml",
        "complaint",
        "",
        "abuse report (ExampleFBL/1.3)",
        id="arf-abuse-rfc822-headers-message-id",
    ),
    pytest.param("dmarc-auth-failure-report.eml", None, "", "", id="arf-auth-failure-ignored"),
    pytest.param("exchange-out-of-office.eml", None, "", "", id="exchange-automatic-reply"),
    pytest.param("gmail-vacation-reply.eml", None, "", "", id="gmail-vacation-responder"),
    pytest.param("postfix-delivered-dsn.eml", None, "", "", id="dsn-relayed-is-no-bounce"),
    pytest.param("garbage.eml", None, "", "", id="garbage"),
]


@pytest.mark.parametrize(("name", "kind", "status", "reason"), READS)
def test_each_format_reads_as_what_it_says(
    name: str, kind: str | None, status: str, reason: str
) -> None:
    feedback = read_report(_fixture(name))
    if kind is None:
        assert feedback is None
        return
    assert feedback is not None
    assert (feedback.kind, feedback.status) == (kind, status)
    assert feedback.reason.startswith(reason)
    assert len(feedback.reason) <= 255
    assert "@" not in feedback.reason
    assert not any(citizen in feedback.reason.lower() for citizen in CITIZENS)
    # Found from the returned copy: X-Warta-Notification-Id, else its Message-ID.
    assert feedback.notification_id == NID


@pytest.mark.parametrize("name", [p.values[0] for p in READS if p.values[1] is not None])
def test_the_verp_recipient_names_the_notification_over_the_returned_headers(name: str) -> None:
    named = uuid.uuid4()
    feedback = read_report(_fixture(name), named)
    assert feedback is not None
    assert feedback.notification_id == named


def test_a_bounce_with_no_returned_copy_matches_nothing() -> None:
    raw = _fixture("postfix-hard-5.1.1.eml")
    copy_cut_off = raw.split(b"Content-Description: Undelivered Message")[0]
    reason = (
        "550 5.1.1 <address>: Recipient address rejected: User unknown in virtual mailbox table"
    )
    assert read_report(copy_cut_off) == Feedback("hard", None, "5.1.1", reason)


DSN = """\
From: MAILER-DAEMON@mx.example.id
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: text/plain

The mail system
--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.id

{blocks}
--b--
"""


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        pytest.param(
            "Final-Recipient: rfc822; a@example.id\nAction: failed\nStatus: 5.2.2\n",
            ("hard", "5.2.2", "5.2.2 mailbox full"),
            id="no-diagnostic-status-says-it",
        ),
        pytest.param(
            "Final-Recipient: rfc822; a@example.id\nAction: failed\nStatus: 4.4.7\n"
            "Diagnostic-Code: X-Postfix; delivery temporarily suspended\n",
            ("soft", "4.4.7", "delivery temporarily suspended"),
            id="failed-with-4xx-is-soft",
        ),
        pytest.param(
            "Final-Recipient: rfc822; a@example.id\nAction: failed (bad mailbox)\n",
            ("hard", "5.0.0", "5.0.0 other or undefined status"),
            id="failed-without-status",
        ),
        pytest.param(
            "Final-Recipient: rfc822; a@example.id\nAction: delayed\nStatus: 5.0.0\n",
            ("soft", "4.0.0", "4.0.0 other or undefined status"),
            id="delayed-is-soft-whatever-its-status",
        ),
        pytest.param(
            "Final-Recipient: rfc822; a@example.id\nAction: delayed\nStatus: 4.2.2\n\n"
            "Final-Recipient: rfc822; b@example.id\nAction: failed\nStatus: 5.1.1\n",
            ("hard", "5.1.1", "5.1.1 bad destination mailbox address"),
            id="worst-of-two-recipients",
        ),
        pytest.param(
            "Final-Recipient: rfc822; a@example.id\nAction: expanded\nStatus: 2.0.0\n",
            None,
            id="expanded-is-no-bounce",
        ),
    ],
)
def test_delivery_status_fields(blocks: str, expected: tuple[str, str, str] | None) -> None:
    feedback = read_report(DSN.format(blocks=blocks).encode())
    if expected is None:
        assert feedback is None
    else:
        assert feedback is not None
        assert (feedback.kind, feedback.status, feedback.reason) == expected


EXIM = """\
From: Mail Delivery System <Mailer-Daemon@relay.example.com>
X-Failed-Recipients: budi@example.id
Subject: Mail delivery failed: returning message to sender

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  budi@example.id
{lines}

------ This is a copy of the message, including all the headers. ------

Subject: x
X-Note: 550 5.7.1 quoted from the returned copy, never read
"""


@pytest.mark.parametrize(
    ("lines", "status", "reason"),
    [
        pytest.param(
            "    host mx.example.id [192.0.2.153]: 550 5.1.1 <budi@example.id>... User unknown",
            "5.1.1",
            "host mx.example.id [192.0.2.153]: 550 5.1.1 <address>... User unknown",
            id="status-beside-an-ip-address",
        ),
        pytest.param(
            "    host mx.example.id [192.0.2.153]: 550 User unknown",
            "5.0.0",
            "550 User unknown",
            id="reply-code-only",
        ),
        pytest.param(
            "    452 4.2.2 Mailbox full\n    550 5.2.2 mailbox over quota",
            "5.2.2",
            "550 5.2.2 mailbox over quota",
            id="first-status-of-the-class",
        ),
        pytest.param(
            "    retry timeout exceeded\n    452 4.2.2 <budi@example.id>: Mailbox full",
            "5.0.0",
            "452 4.2.2 <address>: Mailbox full",
            id="gave-up-on-a-4xx",
        ),
        pytest.param(
            "    retry timeout exceeded (Exim 4.96.1)",
            "5.0.0",
            "permanent failure, no diagnostic given",
            id="no-reply-quoted",
        ),
        pytest.param(
            "    route 5.1.1.0 unreachable",
            "5.0.0",
            "permanent failure, no diagnostic given",
            id="four-part-number-is-no-status",
        ),
    ],
)
def test_non_standard_bounce_status_and_reason(lines: str, status: str, reason: str) -> None:
    feedback = read_report(EXIM.format(lines=lines).encode())
    assert feedback is not None
    assert (feedback.kind, feedback.status, feedback.reason) == ("hard", status, reason)
    assert feedback.notification_id is None


ARF = """\
From: fbl@isp.example.net
Content-Type: multipart/report; report-type=feedback-report; boundary="b"

--b
Content-Type: message/feedback-report

Feedback-Type: {kind}
User-Agent: FBL/1

--b--
"""


@pytest.mark.parametrize(
    ("kind", "complaint"),
    [("abuse", True), ("ABUSE", True), ("not-spam", False), ("auth-failure", False)],
)
def test_only_an_abuse_report_is_a_complaint(kind: str, complaint: bool) -> None:
    feedback = read_report(ARF.format(kind=kind).encode())
    assert (feedback is not None) == complaint
    if feedback is not None:
        assert (feedback.kind, feedback.notification_id) == ("complaint", None)


@pytest.mark.parametrize(
    "subject",
    ["Automatic reply: Jadwal", "Out of Office: Jadwal", "Balasan otomatis: Jadwal", "Auto: x"],
)
def test_auto_replies_are_not_bounces(subject: str) -> None:
    raw = f"From: a@example.id\nSubject: {subject}\n\nDelivery to the following recipient failed"
    assert read_report(raw.encode()) is None


# --- VERP ---------------------------------------------------------------------------------

KEY, OLD_KEY = b"k" * 32, b"o" * 32


def _mac(key: bytes):  # type: ignore[no-untyped-def]
    return lambda text: hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _macs(*keys: bytes):  # type: ignore[no-untyped-def]
    return lambda text: [_mac(k)(text) for k in keys]


def test_verp_round_trip() -> None:
    address = verp_address(NID, _mac(KEY), "Bounces.Example.ID")
    local, domain = address.split("@")
    assert domain == "bounces.example.id"
    assert local.startswith(f"b-{NID.hex}-") and len(local) == 51 <= 64
    assert verp_notification(address, _macs(KEY), "bounces.example.id") == NID
    # What a relay may do to it on the way back: angle brackets, upper case, a final dot.
    assert verp_notification(f"<{address.upper()}>", _macs(KEY), "bounces.example.id.") == NID


def test_verp_made_under_a_previous_key_still_reads_during_rotation() -> None:
    address = verp_address(NID, _mac(OLD_KEY), "bounces.example.id")
    assert verp_notification(address, _macs(KEY, OLD_KEY), "bounces.example.id") == NID
    assert verp_notification(address, _macs(KEY), "bounces.example.id") is None


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param(f"b-{NID.hex}-0000000000000000@bounces.example.id", id="made-up-mac"),
        pytest.param(f"b-{uuid.uuid4().hex}-{{mac}}@bounces.example.id", id="mac-of-another-id"),
        pytest.param(f"b-{NID.hex}-{{mac}}@bounces.example.net", id="another-domain"),
        pytest.param(f"b-{NID.hex}-{{mac}}x@bounces.example.id", id="trailing-junk"),
        pytest.param(f"b-{NID.hex}@bounces.example.id", id="no-mac"),
        pytest.param("postmaster@bounces.example.id", id="not-verp"),
        pytest.param("", id="empty"),
    ],
)
def test_a_forged_or_garbled_verp_names_nothing(forged: str) -> None:
    mac = verp_address(NID, _mac(KEY), "x").split("@")[0].rsplit("-", 1)[1]
    address = forged.replace("{mac}", mac)
    assert verp_notification(address, _macs(KEY), "bounces.example.id") is None


def test_an_unsubscribe_mailto_names_its_notification_and_is_no_bounce_address() -> None:
    domain = "bounces.example.id"
    mailto = verp_address(NID, _mac(KEY), domain, "u")
    assert len(mailto.split("@")[0]) <= 64  # RFC 5321's local part
    assert verp_notification(mailto, _macs(KEY), domain, "u") == NID
    assert verp_notification(mailto.upper(), _macs(KEY), domain, "u") == NID  # case lost
    # The purpose is MACed: neither address can be turned into the other.
    bounce = verp_address(NID, _mac(KEY), domain)
    assert verp_notification("u" + bounce[1:], _macs(KEY), domain, "u") is None
    assert verp_notification("b" + mailto[1:], _macs(KEY), domain) is None


def test_what_each_recipient_at_the_listener_is() -> None:
    good = verp_address(NID, _mac(KEY), "bounces.example.id")
    forged = f"b-{NID.hex}-0000000000000000@bounces.example.id"
    macs, domain = _macs(KEY), "bounces.example.id"
    assert recipient(good, macs, domain) == Recipient("bounce", NID)
    assert recipient(forged, macs, domain) == Recipient("refused")
    assert recipient("B-junk@bounces.example.id", macs, domain) == Recipient("refused")
    mailto = verp_address(NID, _mac(KEY), domain, "u")
    assert recipient(mailto, macs, domain) == Recipient("unsubscribe", NID)
    assert recipient("u-Tok_en@bounces.example.id", macs, domain) == Recipient("refused")
    assert recipient("fbl@bounces.example.id", macs, domain) == Recipient("mailbox")
    assert recipient("budi@example.id", macs, domain) == Recipient("refused")


@pytest.mark.parametrize(
    ("address", "at"),
    [
        ("fbl@bounces.example.id", True),
        ("<Abuse@Bounces.Example.Id>", True),
        ("x@sub.bounces.example.id", False),
        ("x@bounces.example.id.evil.example", False),
        ("bounces.example.id", False),
        ("@bounces.example.id", False),
    ],
)
def test_is_at_domain(address: str, at: bool) -> None:
    assert is_at_domain(address, "bounces.example.id") is at


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("550 5.1.1 <budi@contoh.id>: User unknown", "550 5.1.1 <address>: User unknown"),
        ("account (budi@contoh.id) [0]", "account (<address>) [0]"),
        ("RCPT TO:<budi@contoh.id>:\n   550 no", "RCPT TO:<address>: 550 no"),
        ("", "no reason given"),
        ("x" * 300, "x" * 255),
    ],
)
def test_redact(text: str, redacted: str) -> None:
    assert redact(text) == redacted
