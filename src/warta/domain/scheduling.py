"""When a client may ask for a message to go: the window Notify allows ``scheduled_for``,
and the far bound of ``expires_at``.

GC Notify's bulk API refuses a ``scheduled_for`` in the past or more than 96 hours ahead;
Warta holds every scheduled send to the same window (bulk jobs, citizen sends and
broadcasts), so a job cannot sit for months holding personal data, nor a typo
(``2062`` for ``2026``) wait silently for decades. Every time needs a zone: ``08:00``
means different instants in Jakarta and Jayapura.

* ``now - 30 s`` is accepted (a client's clock a little behind ours): sent at once.
* ``now - 2 min`` is refused, "scheduled_for datetime can not be in the past".
* ``now + 96 h`` is accepted; ``now + 97 h`` refused, "... up to 96 hours in the future".
* ``expires_at`` only needs a zone and at most a year ahead: far enough for any real
  plan, near enough that the date arithmetic of quiet hours and digests cannot overflow
  (``9999-12-31``).

Pure: ``now`` is passed in.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from warta.errors import InvalidInput

#: How far ahead ``scheduled_for`` may be (GC Notify's bulk API: 96 hours).
SCHEDULE_AHEAD: Final = timedelta(hours=96)
#: Clocks disagree: a time this far in the past is taken as "now", and the far end of
#: the window is this much later too, so a client a little out of step is not refused.
CLOCK_SKEW: Final = timedelta(minutes=1)
#: How far ahead ``expires_at`` may be.
EXPIRY_AHEAD: Final = timedelta(days=366)


class InvalidTime(InvalidInput):
    """A time a client gave that Warta will not schedule by."""


def check_zone(name: str, value: datetime) -> None:
    """``2026-12-01T08:00:00`` is refused; ``2026-12-01T08:00:00+07:00`` is fine."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidTime("%(name)s needs a time zone, like 2026-12-01T08:00:00+07:00", name=name)


def check_scheduled_for(value: datetime | None, now: datetime, name: str = "scheduled_for") -> None:
    """``value`` (None: send now) is within ``[now - CLOCK_SKEW, now + SCHEDULE_AHEAD +
    CLOCK_SKEW]`` and has a zone; raises ``InvalidTime`` otherwise."""
    if value is None:
        return
    check_zone(name, value)
    if value < now - CLOCK_SKEW:
        raise InvalidTime("%(name)s datetime can not be in the past", name=name)
    if value > now + SCHEDULE_AHEAD + CLOCK_SKEW:
        raise InvalidTime(
            "%(name)s datetime can only be up to %(hours)s hours in the future",
            name=name,
            hours=int(SCHEDULE_AHEAD.total_seconds() // 3600),
        )


def check_expires_at(value: datetime | None, now: datetime, name: str = "expires_at") -> None:
    """``value`` (None: never expires) has a zone and is at most ``EXPIRY_AHEAD`` ahead.
    One in the past is the caller's to judge (a citizen send says "nothing would be
    sent")."""
    if value is None:
        return
    check_zone(name, value)
    if value - now > EXPIRY_AHEAD:
        raise InvalidTime("%(name)s is more than a year ahead", name=name)
