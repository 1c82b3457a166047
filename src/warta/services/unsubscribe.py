"""One-click unsubscribe from an agency's non-urgent email (RFC 8058, RFC 2369).

Every non-urgent email carries ``List-Unsubscribe: <https://PUBLIC/u/TOKEN>`` (and, when
``WARTA_BOUNCE_DOMAIN`` is set, ``<mailto:u-ID-MAC@BOUNCE_DOMAIN?subject=unsubscribe>``)
with ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``. A mail client (Gmail, Yahoo)
POSTs ``List-Unsubscribe=One-Click`` to the URL, with no cookie and no page; the bounce
listener hands a mail to the ``u-`` address to ``unsubscribe_notification`` here. The
mailto names the notification (a MACed VERP address, ``domain/bounces.py``) rather than
carrying the token, which is too long for an address's local part (64 characters). Either way the
address stops that agency's non-urgent email (or one topic's, for a topic broadcast):
an ``email_opt_outs`` row, the email twin of an SMS BERHENTI. Urgent email never carries
the headers and still goes.

The token is the agency, the address's keyed hash and the topic, sealed with the keyring
(AES-GCM, bound to the field ``email.unsubscribe``): whoever reads the URL learns
nothing, and a token altered by one bit, or sealed for another use, opens to nothing.
Sealed once per email (a fresh nonce), so two emails' links differ. 81 bytes before the
topic, 108 characters of base64url: the header line stays far under RFC 5322's 998.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from warta.domain import bounces
from warta.security.crypto import DecryptionError, Keyring

if TYPE_CHECKING:
    from warta.deps import Warta
    from warta.store.uow import UnitOfWork

log = logging.getLogger(__name__)

FIELD = "email.unsubscribe"
SOURCE = "unsubscribe"
#: Why a non-urgent email to an address that unsubscribed ends ``cancelled``.
STOPPED = "recipient unsubscribed from this agency's email (or this topic's)"
#: The POST body RFC 8058 prescribes, and the only one taken.
ONE_CLICK = "List-Unsubscribe=One-Click"
#: Longest token taken: a topic slug is at most 100 characters (4 bytes each in UTF-8).
MAX_TOKEN = 700
_TOKEN = re.compile(rf"[A-Za-z0-9_-]{{40,{MAX_TOKEN}}}")
_HASH_BYTES = 32


@dataclass(frozen=True)
class Unsubscribe:
    """What a token stands for: stop ``agency_id``'s non-urgent email to the address whose
    keyed hash is ``address_hash`` ("" topic: all of it, else that topic's)."""

    agency_id: uuid.UUID
    address_hash: str
    topic: str = ""


def seal(keyring: Keyring, stop: Unsubscribe) -> str:
    payload = stop.agency_id.bytes + bytes.fromhex(stop.address_hash) + stop.topic.encode()
    sealed = keyring.encrypt_bytes(payload, field=FIELD)
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def open_token(keyring: Keyring, token: str) -> Unsubscribe | None:
    """What the token stands for; None for anything this Warta did not seal as one
    (garbage, a token altered or cut short, another field's ciphertext)."""
    if not _TOKEN.fullmatch(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = keyring.decrypt_bytes(raw, field=FIELD)
        topic = payload[16 + _HASH_BYTES :].decode()
    except (binascii.Error, ValueError, DecryptionError):  # UnicodeDecodeError: a ValueError
        return None
    if len(payload) < 16 + _HASH_BYTES:
        return None
    agency_id = uuid.UUID(bytes=payload[:16])
    return Unsubscribe(agency_id, payload[16 : 16 + _HASH_BYTES].hex(), topic)


def public_base(app: Warta) -> str:
    """Where Warta is reached from outside: the public URL, else host and port (dev)."""
    settings = app.settings
    return settings.public_url.rstrip("/") or f"http://{settings.host}:{settings.port}"


def headers(
    app: Warta, stop: Unsubscribe, notification_id: uuid.UUID
) -> tuple[tuple[str, str], ...]:
    """The List-Unsubscribe and List-Unsubscribe-Post fields of a non-urgent email."""
    token = seal(app.keyring, stop)
    links = [f"<{public_base(app)}/u/{token}>"]
    if domain := app.settings.bounce_domain:
        mailto = bounces.verp_address(notification_id, app.keyring.lookup_hash, domain, "u")
        links.append(f"<mailto:{mailto}?subject=unsubscribe>")
    return (("List-Unsubscribe", ", ".join(links)), ("List-Unsubscribe-Post", ONE_CLICK))


async def unsubscribe(app: Warta, token: str, *, source: str = SOURCE) -> bool:
    """Stop what the token names (idempotent); False, and nothing changed, for a token
    this Warta did not make or for an agency that no longer exists."""
    stop = open_token(app.keyring, token)
    return stop is not None and await _stop(app, stop, source)


async def unsubscribe_notification(app: Warta, notification_id: uuid.UUID) -> bool:
    """A mail to an email's ``u-`` mailto: stop what its List-Unsubscribe's link would.
    False, and nothing changed, when the notification is gone (past retention: its link
    still works) or was no email."""
    async with app.uow() as uow:
        rows = await uow.notifications.of_ids([notification_id])
    row = rows[0] if rows else None
    if row is None or row.type != "email" or len(row.recipient_hash) != 64:
        return False
    stop = Unsubscribe(row.agency_id, row.recipient_hash, row.topic or "")
    return await _stop(app, stop, "mailto")


async def _stop(app: Warta, stop: Unsubscribe, source: str) -> bool:
    async with app.uow() as uow:
        if await uow.agencies.get(stop.agency_id) is None:
            return False
        await uow.email_opt_outs.opt_out(
            stop.agency_id, stop.address_hash, stop.topic, app.clock(), source
        )
        await uow.commit()
    log.info("email unsubscribe from agency %s (topic %r, %s)", stop.agency_id, stop.topic, source)
    return True


@dataclass(frozen=True)
class Confirmation:
    """What the confirmation page (GET) says: whose email stops, and in which language."""

    agency: str
    topic: str | None  # the topic's name, for a topic's link
    language: str | None  # the citizen's, when the address is a citizen's


async def confirmation(app: Warta, token: str) -> Confirmation | None:
    """The page's words for a token, changing nothing; None for a token not Warta's."""
    stop = open_token(app.keyring, token)
    if stop is None:
        return None
    async with app.uow() as uow:
        agency = await uow.agencies.get(stop.agency_id)
        if agency is None:
            return None
        topic = None
        if stop.topic:
            names = await uow.citizens.topic_names([stop.agency_id])
            topic = names.get((stop.agency_id, stop.topic), stop.topic)
        language = await uow.email_opt_outs.citizen_language(stop.address_hash)
    return Confirmation(agency.name, topic, language)


# -- the citizen's side (the portal) ---------------------------------------------------------


@dataclass(frozen=True)
class CitizenStop:
    """One of the citizen's addresses stopped an agency's email (or a topic's): what the
    portal lists, with a button to receive it again."""

    agency_id: uuid.UUID
    agency: str
    topic: str  # the slug, "" for all of the agency's non-urgent email
    topic_name: str | None
    source: str  # unsubscribe | complaint
    at: datetime


async def _email_hashes(uow: UnitOfWork, citizen_id: uuid.UUID) -> set[str]:
    return {c.value_hash for c in await uow.citizens.contacts([citizen_id]) if c.kind == "email"}


async def stops_of(app: Warta, citizen_id: uuid.UUID) -> list[CitizenStop]:
    """The email the citizen's addresses stopped (by link or spam report), oldest first;
    an agency stopped from two of their addresses is listed once."""
    async with app.uow() as uow:
        stops = await uow.email_opt_outs.of_addresses(await _email_hashes(uow, citizen_id))
        agencies = list({s.agency_id for s in stops})
        names = await uow.citizens.agency_names(agencies)
        topics = await uow.citizens.topic_names(agencies)
    listed: dict[tuple[uuid.UUID, str], CitizenStop] = {}
    for s in stops:
        topic_name = topics.get((s.agency_id, s.topic), s.topic) if s.topic else None
        listed.setdefault(
            (s.agency_id, s.topic),
            CitizenStop(
                s.agency_id, names.get(s.agency_id, ""), s.topic, topic_name, s.source, s.created_at
            ),
        )
    return list(listed.values())


async def receive_again(
    app: Warta, citizen_id: uuid.UUID, agency_id: uuid.UUID, topic: str
) -> bool:
    """Undo a stop of the citizen's own addresses (the portal's "receive again"); False
    when none of their addresses had it."""
    async with app.uow() as uow:
        undone = [
            await uow.email_opt_outs.opt_in(agency_id, address_hash, topic)
            for address_hash in await _email_hashes(uow, citizen_id)
        ]
        await uow.commit()
    return any(undone)
