"""How a citizen is reached: the preferences an agency or the citizen sets, checked the
same way for both, kept on the citizen row, and each change recorded.

Each conversion has one owner: ``preferences_of`` reads them from a row, ``apply_preferences``
writes them to one, ``preferences_document`` gives them as the API and "download my data"
show them, and ``routing_preferences`` as the routing policy takes them.
"""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass
from typing import Any, Final

from warta.domain import citizens as rules
from warta.domain import routing
from warta.domain.channels import is_channel
from warta.domain.regions import ZONES
from warta.errors import InvalidInput, ValidationFailed
from warta.store.models import Citizen, PreferenceChange
from warta.store.uow import UnitOfWork

#: A citizen row's zone (WIB, WITA, WIT) -> its IANA name.
_IANA: Final[dict[str, str]] = {label: name for label, name in ZONES.items()}


@dataclass(frozen=True)
class Preferences:
    channels: tuple[str, ...] = ("sms",)
    quiet_start: str | None = "21:00"
    quiet_end: str | None = "06:00"
    max_per_day: int | None = None
    max_per_week: int | None = None
    digest: bool = False
    digest_at: str = "18:00"


def invalid(exc: InvalidInput) -> ValidationFailed:
    # The msgid and values, not str(exc): a page translates the message.
    return ValidationFailed(exc.msgid, field=exc.field, **exc.values)


def check_preferences(prefs: Preferences) -> Preferences:
    """Validated preferences, or a ValidationFailed naming the field."""
    try:
        rules.channel_order(list(prefs.channels))
        if (prefs.quiet_start is None) != (prefs.quiet_end is None):
            raise rules.InvalidCitizen("quiet_hours needs both start and end, or neither")
        if prefs.quiet_start is not None and prefs.quiet_end is not None:
            rules.local_time(prefs.quiet_start, "quiet_hours start")
            rules.local_time(prefs.quiet_end, "quiet_hours end")
        rules.cap(prefs.max_per_day, "max_per_day")
        rules.cap(prefs.max_per_week, "max_per_week")
        rules.local_time(prefs.digest_at, "digest_at")
    except InvalidInput as exc:
        raise invalid(exc) from exc
    return prefs


def preferences_of(citizen: Citizen) -> Preferences:
    """The citizen row's preferences (a broadcast batch's row has the same columns)."""
    return Preferences(
        channels=tuple(citizen.channel_order.split(",")),
        quiet_start=citizen.quiet_start,
        quiet_end=citizen.quiet_end,
        max_per_day=citizen.max_per_day,
        max_per_week=citizen.max_per_week,
        digest=citizen.digest,
        digest_at=citizen.digest_at,
    )


def apply_preferences(citizen: Citizen, prefs: Preferences) -> None:
    citizen.channel_order = ",".join(rules.channel_order(list(prefs.channels)))
    citizen.quiet_start = prefs.quiet_start
    citizen.quiet_end = prefs.quiet_end
    citizen.max_per_day = prefs.max_per_day
    citizen.max_per_week = prefs.max_per_week
    citizen.digest = prefs.digest
    citizen.digest_at = prefs.digest_at


def routing_preferences(citizen: Citizen) -> routing.Preferences:
    """The citizen's preferences as the routing policy takes them (channels it does not
    know are left out, the zone as its IANA name)."""
    return _preferences(
        citizen.channel_order,
        citizen.quiet_start,
        citizen.quiet_end,
        citizen.max_per_day,
        citizen.max_per_week,
        citizen.digest,
        citizen.digest_at,
        citizen.zone,
    )


# Cached: a fan-out meets the same few preference sets a million times.
@functools.lru_cache(maxsize=4096)
def _preferences(
    channel_order: str,
    quiet_start: str | None,
    quiet_end: str | None,
    max_per_day: int | None,
    max_per_week: int | None,
    digest: bool,
    digest_at: str,
    zone: str,
) -> routing.Preferences:
    quiet = None
    if quiet_start and quiet_end:
        quiet = routing.QuietHours(
            rules.local_time(quiet_start, "quiet_hours start"),
            rules.local_time(quiet_end, "quiet_hours end"),
        )
    return routing.Preferences(
        channel_order=tuple(c for c in channel_order.split(",") if is_channel(c)),
        quiet_hours=quiet,
        max_per_day=max_per_day,
        max_per_week=max_per_week,
        digest=digest,
        digest_at=rules.local_time(digest_at, "digest_at"),
        zone=_IANA[zone],
    )


def preferences_document(prefs: Preferences) -> dict[str, Any]:
    """Preferences as the API and "download my data" give them."""
    return {
        "channels": list(prefs.channels),
        "quiet_hours": (
            {"start": prefs.quiet_start, "end": prefs.quiet_end} if prefs.quiet_start else None
        ),
        "max_per_day": prefs.max_per_day,
        "max_per_week": prefs.max_per_week,
        "digest": prefs.digest,
        "digest_at": prefs.digest_at,
    }


def reached_by(citizen: Citizen) -> str:
    """How the citizen is reached now, as a preference change records it (JSON)."""
    document = preferences_document(preferences_of(citizen))
    return json.dumps({**document, "language": citizen.language})


def record_preferences(
    uow: UnitOfWork, citizen: Citizen, agency_id: uuid.UUID | None, before: str | None
) -> None:
    """Record the citizen's preferences as just set (``before``: ``reached_by`` ahead of
    the change, None for a new citizen), by an agency (through the API or an import) or,
    with no ``agency_id``, by the citizen. A save that changed nothing is not a change."""
    after = reached_by(citizen)
    if after == before:
        return
    uow.citizens.add(
        PreferenceChange(
            id=uuid.uuid4(),
            citizen_id=citizen.id,
            agency_id=agency_id,
            source="agency" if agency_id else "portal",
            preferences=after,
            created_at=citizen.updated_at,
        )
    )
