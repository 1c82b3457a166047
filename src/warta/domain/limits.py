"""Rate limiting, retry timing and the limits on one-time codes: pure arithmetic, the
clock and randomness passed in."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final


@dataclass
class TokenBucket:
    """``capacity`` requests at once, refilled evenly over ``period`` seconds.

    Notify allows 3,000 requests a minute per service and key type: a burst of 3,000,
    then 50 a second.

    >>> bucket = TokenBucket(capacity=2, period=60.0, tokens=2, updated=0.0)
    >>> bucket.take(now=0.0), bucket.take(now=0.0), bucket.take(now=0.0)
    (True, True, False)
    >>> bucket.take(now=30.0)
    True
    """

    capacity: int
    period: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, capacity: int, period: float, now: float) -> TokenBucket:
        return cls(capacity=capacity, period=period, tokens=float(capacity), updated=now)

    def take(self, now: float) -> bool:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(self.capacity), self.tokens + elapsed * self.capacity / self.period)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def backoff_delay(attempt: int, *, base: float, cap: float, jitter: float) -> float:
    """Seconds to wait before try ``attempt + 1``: exponential, capped, with equal jitter.

    ``jitter`` is a number in [0, 1) from the caller's random source; half of the delay is
    fixed so a retry never comes immediately, half is spread so retries do not stampede.

    >>> backoff_delay(1, base=10, cap=3600, jitter=0.0)
    5.0
    >>> backoff_delay(3, base=10, cap=3600, jitter=0.5)
    30.0
    >>> backoff_delay(30, base=10, cap=3600, jitter=0.999) <= 3600
    True
    """
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return ceiling / 2 + ceiling / 2 * jitter


# -- one-time codes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Allowance:
    """At most ``most`` events in any ``within``: ``Allowance(3, timedelta(minutes=15))``
    lets a fourth code go only once the first is 15 minutes old."""

    most: int
    within: timedelta


#: Codes one contact may be sent, of every kind together (portal sign-in, contact
#: verification, the citizen's presence at a counter): enough for a citizen who mistypes
#: twice, too few to bomb a phone with SMS the state pays for.
CODES_PER_CONTACT: Final = (Allowance(3, timedelta(minutes=15)), Allowance(10, timedelta(days=1)))
#: Codes one client address may ask for, over every contact: a household or an office
#: behind one address signs in several people; a script spreading over numbers is stopped.
CODES_PER_CLIENT: Final = (Allowance(10, timedelta(minutes=15)), Allowance(50, timedelta(days=1)))
#: Wrong guesses at a contact's codes, counted across codes: a new code does not reset them.
WRONG_CODES: Final = Allowance(5, timedelta(minutes=15))
#: How long the contact is locked after the guess that reached ``WRONG_CODES``.
LOCKOUT: Final = timedelta(minutes=15)
#: How long code events are kept: longer than any window above.
CODE_EVENTS_KEPT: Final = timedelta(days=2)


def client_network(address: str) -> str:
    """What the per-client limits count: an IPv4 address, or an IPv6 address's /64 (one
    subscriber's usual allocation, whose 2^64 addresses would otherwise each count anew).
    Anything else (a test client's name) as it is.

    >>> client_network("203.0.113.7")
    '203.0.113.7'
    >>> client_network("2001:db8:1:2:aaaa::1")
    '2001:db8:1:2::/64'
    >>> client_network("::ffff:203.0.113.7")
    '203.0.113.7'
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def may_send(sent: Mapping[timedelta, int], allowances: Sequence[Allowance]) -> bool:
    """May one more code go, given ``sent[a.within]`` codes already sent in the last
    ``a.within`` for each allowance (a span missing from ``sent`` counts none)?

    >>> may_send({timedelta(minutes=15): 2, timedelta(days=1): 9}, CODES_PER_CONTACT)
    True
    >>> may_send({timedelta(minutes=15): 3, timedelta(days=1): 3}, CODES_PER_CONTACT)
    False
    >>> may_send({timedelta(minutes=15): 0, timedelta(days=1): 10}, CODES_PER_CONTACT)
    False
    """
    return all(sent.get(a.within, 0) < a.most for a in allowances)


def locked_out(
    wrong_at: Sequence[datetime],
    now: datetime,
    rule: Allowance = WRONG_CODES,
    lockout: timedelta = LOCKOUT,
) -> bool:
    """Is the contact locked, given the times of its wrong guesses? It is for ``lockout``
    after any guess that made ``rule.most`` wrong within ``rule.within``: five wrong at
    10:00-10:04 lock it until 10:19. Guesses refused while locked are not wrong guesses
    (nothing was checked), so an attacker cannot stretch the lock, only renew it with five
    more once it ends. Only the last ``rule.within + lockout`` matters; a guess stamped
    after ``now`` (another host's clock, a little ahead) counts as a recent one.

    >>> t = datetime(2026, 1, 1, 10, 0)
    >>> wrong = [t + timedelta(minutes=m) for m in range(5)]
    >>> locked_out(wrong, t + timedelta(minutes=18)), locked_out(wrong, t + timedelta(minutes=19))
    (True, False)
    >>> locked_out(wrong[:4], t + timedelta(minutes=5))
    False
    """
    times = sorted(wrong_at)
    span = rule.most - 1
    return any(
        times[i] - times[i - span] < rule.within and now - times[i] < lockout
        for i in range(span, len(times))
    )
