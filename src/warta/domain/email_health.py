"""Email health: what a bounce or complaint does to a notification, and when an agency's
bounce and complaint rates call for a warning. Pure arithmetic on counts and times.

What each report does (``services/email_feedback.py`` acts on it):

- hard bounce (5.x.x, no such mailbox): ``delivered`` -> ``permanent-failure`` at once,
  for the notification and its digest; the citizen's contact is gone.
- soft bounce (4.x.x, mailbox full, delayed): ``delivered`` -> ``temporary-failure`` once
  the address soft-bounced ``SOFT_BOUNCE_REPEATS`` emails within ``SOFT_BOUNCE_WINDOW``.
- complaint (an ARF "this is spam" report): the status stays (it did arrive); the address
  is opted out of the agency's non-urgent email.

Why a soft bounce must repeat: a relay reports a *delay* (still trying) the same way it
reports having given up on a full mailbox, and most of those mails arrive in the end. One
soft bounce says little; three different emails to one address that soft-bounced within
three days say the mailbox is not taking mail now (mailing-list services likewise turn
an address's repeated soft bounces into a hard one). Repeated reports about *one* email
(a relay's delay notice every few hours) count once.

The warnings are the thresholds mailbox providers hold bulk senders to: Gmail and Yahoo
(2024 bulk sender rules) want spam complaints under 0.3% of the mail delivered. For
hard bounces 2% is the usual ceiling of a kept list (Amazon SES puts a sender under
review at 5%): above it, the list holds many addresses that no longer exist.

>>> rate(3, 1000)
0.003
>>> warnings(sent=1000, hard=21, complaints=3)
('hard-bounces',)
>>> warnings(sent=1000, hard=0, complaints=4)
('complaints',)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final, Literal

#: Soft bounces of different emails to one address, within ``SOFT_BOUNCE_WINDOW``, after
#: which its soft-bounced emails are ``temporary-failure``.
SOFT_BOUNCE_REPEATS: Final = 3
SOFT_BOUNCE_WINDOW: Final = timedelta(days=3)

#: Warn when more than this share of the day's sent email drew a complaint (Gmail, Yahoo).
COMPLAINT_WARNING: Final = 0.003
#: Warn when more than this share of the day's sent email hard-bounced.
HARD_BOUNCE_WARNING: Final = 0.02

Warning = Literal["complaints", "hard-bounces"]


def soft_bounces_fail(bounced_at: Iterable[datetime], now: datetime) -> bool:
    """Have enough different emails to one address soft-bounced lately to call the
    address failing? ``bounced_at``: when each email's (first) soft bounce came, this one
    included.

    >>> from datetime import UTC
    >>> day = datetime(2026, 12, 5, tzinfo=UTC)
    >>> soft_bounces_fail([day, day], day)
    False
    >>> soft_bounces_fail([day - timedelta(days=2), day - timedelta(hours=1), day], day)
    True
    >>> soft_bounces_fail([day - timedelta(days=4), day - timedelta(hours=1), day], day)
    False
    """
    since = now - SOFT_BOUNCE_WINDOW
    return sum(1 for at in bounced_at if since <= at <= now) >= SOFT_BOUNCE_REPEATS


def rate(count: int, sent: int) -> float:
    """``count`` as a share of ``sent`` (0 when nothing was sent: no rate to judge).

    >>> rate(1, 4)
    0.25
    >>> rate(2, 0)
    0.0
    """
    return count / sent if sent > 0 else 0.0


def warnings(*, sent: int, hard: int, complaints: int) -> tuple[Warning, ...]:
    """What a day's figures warn of: complaints over 0.3%, hard bounces over 2% of sent.
    A day exactly at a threshold gets no warning; one more report puts it over.

    >>> warnings(sent=1000, hard=20, complaints=3)
    ()
    >>> warnings(sent=0, hard=1, complaints=1)
    ()
    """
    found: list[Warning] = []
    if rate(complaints, sent) > COMPLAINT_WARNING:
        found.append("complaints")
    if rate(hard, sent) > HARD_BOUNCE_WARNING:
        found.append("hard-bounces")
    return tuple(found)
