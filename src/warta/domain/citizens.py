"""What a citizen record may hold: NIK, name, language, channel order, local times, caps.

Pure checks with messages a person can act on; the service layer turns them into API
errors. The NIK (Nomor Induk Kependudukan) is 16 digits: the region of registration
(province, regency, district: 2 digits each), the birth date as DDMMYY with 40 added to
the day for women, and a 4-digit serial. Only its shape is checked here; whether a person
has it is Dukcapil's business, not Warta's.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, time
from typing import Final, Literal, Protocol, get_args

from warta.domain.channels import ChannelName, is_channel
from warta.errors import InvalidInput

#: In the order an error message lists them.
CHANNELS: Final[tuple[ChannelName, ...]] = ("sms", "email", "push", "chat")
LANGUAGES: Final = ("id", "en")
#: Contacts an agency can add (each verified by a code sent through it). Push
#: subscriptions come from the citizen's own device in the portal, and Telegram chats
#: from the bot's /start link, so neither is added by hand; a chat contact added here is
#: a WhatsApp number.
ContactChannel = Literal["sms", "email", "chat"]
CONTACT_KINDS: Final[tuple[ContactChannel, ...]] = get_args(ContactChannel)
WHATSAPP_PREFIX: Final = "whatsapp:"

TimeField = Literal["quiet_hours start", "quiet_hours end", "digest_at"]
CapField = Literal["max_per_day", "max_per_week"]
#: A whole message per field rather than one "%(name)s must ...": a translation can then
#: name the field in words ("Awal jam tenang"), not by its API name.
_NOT_A_TIME: Final[dict[str, str]] = {
    "quiet_hours start": "quiet_hours start must be a 24-hour time like 21:00",
    "quiet_hours end": "quiet_hours end must be a 24-hour time like 21:00",
    "digest_at": "digest_at must be a 24-hour time like 21:00",
}
_NOT_A_CAP: Final[dict[str, str]] = {
    "max_per_day": "max_per_day must be between 1 and 1000, or null for no limit",
    "max_per_week": "max_per_week must be between 1 and 1000, or null for no limit",
}

_NIK = re.compile(r"[0-9]{16}")
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


class InvalidCitizen(InvalidInput):
    pass


def normalise_nik(raw: str) -> str:
    """``"3273 0141 0190 0002"`` -> ``"3273014101900002"``; refuses what cannot be a NIK."""
    nik = re.sub(r"[\s.\-]", "", raw or "")
    if not _NIK.fullmatch(nik):
        raise InvalidCitizen("nik must be 16 digits")
    if not 11 <= int(nik[:2]) <= 96:
        raise InvalidCitizen("nik does not start with an Indonesian province code")
    day, month = int(nik[6:8]), int(nik[8:10])
    if not (1 <= day <= 31 or 41 <= day <= 71) or not 1 <= month <= 12:
        raise InvalidCitizen("nik does not hold a valid birth date (digits 7 to 12)")
    if nik[12:] == "0000":
        raise InvalidCitizen("nik serial (the last 4 digits) cannot be 0000")
    return nik


def check_name(raw: str) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise InvalidCitizen("name cannot be empty")
    if len(name) > 200:
        raise InvalidCitizen("name is longer than 200 characters")
    return name


def check_language(raw: str) -> str:
    language = (raw or "").strip().lower()
    if language not in LANGUAGES:
        raise InvalidCitizen(
            "language must be one of %(languages)s", languages=", ".join(LANGUAGES)
        )
    return language


def channel_order(raw: list[str] | tuple[str, ...]) -> tuple[ChannelName, ...]:
    """An ordered, non-empty list of distinct channels."""
    order = tuple(c.strip().lower() for c in raw)
    if not order:
        raise InvalidCitizen("channels must name at least one channel")
    unknown = [c for c in order if not is_channel(c)]
    if unknown:
        raise InvalidCitizen(
            "channels: %(unknown)s is not a channel (use %(channels)s)",
            unknown=", ".join(unknown),
            channels=", ".join(CHANNELS),
        )
    if len(set(order)) != len(order):
        raise InvalidCitizen("channels lists a channel twice")
    return tuple(c for c in order if is_channel(c))


def local_time(raw: str, field: TimeField) -> time:
    """``"21:00"`` -> ``time(21, 0)``; a 24-hour local time."""
    match = _HHMM.fullmatch((raw or "").strip())
    if match is None:
        raise InvalidCitizen(_NOT_A_TIME[field])
    return time(int(match[1]), int(match[2]))


def cap(value: int | None, field: CapField) -> int | None:
    if value is None:
        return None
    if not 1 <= value <= 1000:
        raise InvalidCitizen(_NOT_A_CAP[field])
    return value


#: The most live contacts of one kind a citizen's record keeps from one holder (each
#: agency its own, the citizen theirs): a home and a work phone, a few browsers. A bound
#: on what one script can pile on a record (10,000 numbers were once taken), counted per
#: holder so that no agency can fill a citizen's record for the others.
MAX_CONTACTS: Final[dict[str, int]] = {"sms": 10, "email": 10, "chat": 10, "push": 20}


class HeldContact(Protocol):
    """What the cap reads of a contact a citizen has (a store row fits)."""

    @property
    def kind(self) -> str: ...
    @property
    def scope(self) -> str: ...
    @property
    def gone_at(self) -> datetime | None: ...


def check_contact_room(adding: Iterable[str], scope: str, held: Iterable[HeldContact]) -> None:
    """Raises ``InvalidCitizen`` if contacts of the kinds ``adding`` (``["sms", "sms"]``),
    added for ``scope``, would give it more than ``MAX_CONTACTS`` live ones of a kind;
    ``held`` is every contact the citizen has (those a provider said are gone do not
    count). Only the kinds added are counted: a holder over the cap already (contacts
    confirmed as the citizen's own) can still add another kind."""
    wanted = Counter(adding)
    have = Counter(
        c.kind for c in held if c.scope == scope and c.gone_at is None and c.kind in wanted
    )
    for kind, count in wanted.items():
        limit = MAX_CONTACTS.get(kind, min(MAX_CONTACTS.values()))
        if have[kind] + count > limit:
            raise InvalidCitizen(
                "Too many %(kind)s contacts: a citizen keeps at most %(limit)s of a kind "
                "from each agency, and %(limit)s of their own",
                kind=kind,
                limit=limit,
            )
