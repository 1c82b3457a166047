"""One-click unsubscribe tokens and the RFC 8058 body: pure, no database."""

from __future__ import annotations

import base64
import uuid
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from types import SimpleNamespace
from typing import Any, cast

import pytest

from warta.api.unsubscribe import _is_one_click
from warta.channels.email_smtp import build_email
from warta.domain.channels import OutboundMessage
from warta.security.crypto import Keyring
from warta.services import unsubscribe
from warta.services.unsubscribe import Unsubscribe, open_token, seal

RING = Keyring(b"k" * 32)
AGENCY = uuid.UUID("8f0b8a52-1c1d-4b7e-9a40-4d5c8b2e7f10")
HASH = RING.lookup_hash("budi@contoh.id")


@pytest.mark.parametrize("topic", ["", "banjir", "peringatan-dini-" + "x" * 84, "jalan-rusak"])
def test_a_token_opens_to_what_was_sealed(topic: str) -> None:
    stop = Unsubscribe(AGENCY, HASH, topic)
    token = seal(RING, stop)
    assert open_token(RING, token) == stop
    assert HASH not in token and AGENCY.hex not in token and "budi" not in token


def test_two_emails_links_differ_but_stop_the_same() -> None:
    stop = Unsubscribe(AGENCY, HASH)
    first, second = seal(RING, stop), seal(RING, stop)
    assert first != second
    assert open_token(RING, first) == open_token(RING, second) == stop


def _flipped(token: str, at: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[at] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


def test_any_changed_byte_opens_to_nothing() -> None:
    token = seal(RING, Unsubscribe(AGENCY, HASH, "banjir"))
    length = len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    assert all(open_token(RING, _flipped(token, at)) is None for at in range(length))


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param("abc", id="short"),
        pytest.param("A" * 120, id="garbage"),
        pytest.param("A" * 5000, id="too-long"),
        pytest.param("ab+/" * 30, id="not-base64url"),
        pytest.param("%2E%2E" * 20, id="percent"),
    ],
)
def test_garbage_opens_to_nothing(token: str) -> None:
    assert open_token(RING, token) is None


def test_another_fields_ciphertext_or_key_opens_to_nothing() -> None:
    payload = AGENCY.bytes + bytes.fromhex(HASH)
    other = base64.urlsafe_b64encode(RING.encrypt_bytes(payload, field="portal.challenge"))
    assert open_token(RING, other.decode().rstrip("=")) is None
    assert open_token(Keyring(b"o" * 32), seal(RING, Unsubscribe(AGENCY, HASH))) is None


NOTIFICATION = uuid.UUID("0192f1a0-0000-7000-8000-000000000001")


def _app(bounce_domain: str) -> Any:
    settings = SimpleNamespace(
        public_url="https://warta.contoh.go.id/", host="0.0.0.0", port=8000,
        bounce_domain=bounce_domain,
    )  # fmt: skip
    return cast(Any, SimpleNamespace(settings=settings, keyring=RING))


def test_headers_name_the_link_and_the_mailto_only_with_a_bounce_domain() -> None:
    stop = Unsubscribe(AGENCY, HASH)
    [(name, links), post] = unsubscribe.headers(_app("bounces.contoh.go.id"), stop, NOTIFICATION)
    assert name == "List-Unsubscribe" and post == ("List-Unsubscribe-Post", unsubscribe.ONE_CLICK)
    url, mailto = links.split(", ")
    assert url.startswith("<https://warta.contoh.go.id/u/") and url.endswith(">")
    assert mailto.startswith(f"<mailto:u-{NOTIFICATION.hex}-") and mailto.endswith(
        "@bounces.contoh.go.id?subject=unsubscribe>"
    )
    assert len(mailto.split("@")[0]) - len("<mailto:") <= 64  # RFC 5321's local part
    [(_, alone), _post] = unsubscribe.headers(_app(""), stop, NOTIFICATION)
    assert "mailto" not in alone and alone.startswith("<https://")


def test_the_header_survives_folding_within_998_characters_a_line() -> None:
    """compat32 folds long headers: each link must stay whole, and each line short."""
    stop = Unsubscribe(AGENCY, HASH, "t" * 100)  # the longest topic slug
    extra = unsubscribe.headers(_app("bounces.contoh.go.id"), stop, NOTIFICATION)
    message = OutboundMessage(
        "n-1", 1, "email", "budi@contoh.id", "Dinas <a@b.go.id>", "Halo", subject="Info",
        headers=extra,
    )  # fmt: skip
    raw, _ = build_email(message)
    assert max(len(line) for line in raw.split(b"\n")) <= 998
    parsed = BytesParser(_class=EmailMessage, policy=policy.default).parsebytes(raw)
    assert " ".join(str(parsed["List-Unsubscribe"]).split()) == extra[0][1]
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


MULTIPART = (
    "multipart/form-data; boundary=XyZ",
    b'--XyZ\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
    b"One-Click\r\n--XyZ--\r\n",
)


@pytest.mark.parametrize(
    ("content_type", "body", "taken"),
    [
        pytest.param("application/x-www-form-urlencoded", b"List-Unsubscribe=One-Click", True,
                     id="form"),
        pytest.param("Application/X-WWW-Form-Urlencoded; charset=utf-8",
                     b"List-Unsubscribe=One-Click", True, id="form-any-case"),
        pytest.param(*MULTIPART, True, id="multipart"),
        pytest.param("application/x-www-form-urlencoded", b"List-Unsubscribe=Yes", False,
                     id="other-value"),
        pytest.param("application/x-www-form-urlencoded",
                     b"List-Unsubscribe=One-Click&List-Unsubscribe=One-Click", False, id="twice"),
        pytest.param("application/x-www-form-urlencoded", b"List-Unsubscribe=One-Click&x=1",
                     False, id="more-fields"),
        pytest.param("application/x-www-form-urlencoded", b"", False, id="empty"),
        pytest.param("application/x-www-form-urlencoded", b"\xff\xfe", False, id="not-ascii"),
        pytest.param("application/json", b'{"List-Unsubscribe": "One-Click"}', False, id="json"),
        pytest.param("text/plain", b"List-Unsubscribe=One-Click", False, id="text"),
        pytest.param("multipart/form-data; boundary=XyZ", b"--XyZ--\r\n", False,
                     id="multipart-empty"),
        pytest.param("multipart/form-data", MULTIPART[1], False, id="multipart-no-boundary"),
    ],
)  # fmt: skip
def test_only_rfc_8058s_body_unsubscribes(content_type: str, body: bytes, taken: bool) -> None:
    assert _is_one_click(content_type, body) is taken
