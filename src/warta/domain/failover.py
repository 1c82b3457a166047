"""Choosing an SMS provider: weighted shares, demotion of a failing or slow one, recovery.

GOV.UK Notify keeps a priority per provider, lowers a provider's priority when its
delivery receipts come slowly and moves priorities back to their resting points over
time. This does the same with continuous arithmetic instead of hourly jobs:

* each provider has a resting weight (its configured share of traffic);
* over a sliding ``window`` a provider that fails too many sends (``max_error_rate``) or
  whose receipts come later than ``slow_after`` too often (``max_slow_rate``), with at
  least ``min_samples`` observations, is demoted to ``demoted_to`` of its resting weight;
* from then its weight drifts back to rest, linearly over ``recovery`` seconds, so traffic
  returns gradually and a provider that is still broken is demoted again on new evidence.

Failover within one send is separate: ``order`` lists every provider, the first picked by
weight and the rest as fallbacks, so a provider that is down costs a retry on the next
one, never a lost message. A provider with resting weight 0 is a pure backup.

Only a provider's own faults are evidence against it: the caller records a send as failed
for errors of the provider (unreachable, busy, refusing) and never for a message that
cannot be sent anywhere (``warta.errors.ContentFault``), which ``channels.sms_router``
leaves out.

Several processes share demotions (``store.provider_health``): ``on_demote`` hears each
demotion made here, and ``demote`` takes one made elsewhere.

Pure: the clock and the random number come from the caller.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Observation = Literal["ok", "error", "prompt", "slow"]


@dataclass
class Balancer:
    resting: dict[str, int]
    window: float = 300.0
    min_samples: int = 5
    max_error_rate: float = 0.5
    slow_after: float = 600.0
    max_slow_rate: float = 0.3
    demoted_to: float = 0.1
    recovery: float = 900.0
    _seen: dict[str, deque[tuple[float, Observation]]] = field(default_factory=dict)
    # How many of each observation ``_seen`` holds, kept as it changes: recounting the
    # window on every send and receipt cost time in proportion to the traffic.
    _counts: dict[str, Counter[Observation]] = field(default_factory=dict)
    _demoted_at: dict[str, float] = field(default_factory=dict)
    #: Called with the provider and the time when evidence here demotes it.
    on_demote: Callable[[str, float], None] | None = None

    def weight(self, name: str, now: float) -> float:
        rest = float(self.resting[name])
        since = self._demoted_at.get(name)
        if since is None:
            return rest
        recovered = min(1.0, max(0.0, now - since) / self.recovery) if self.recovery else 1.0
        return rest * (self.demoted_to + (1.0 - self.demoted_to) * recovered)

    def demote(self, name: str, since: float) -> None:
        """``name`` was demoted at ``since`` (this balancer's clock), on evidence seen
        elsewhere; an older demotion than the one known here changes nothing."""
        if name in self.resting and since > self._demoted_at.get(name, float("-inf")):
            self._demoted_at[name] = since

    def is_demoted(self, name: str, now: float) -> bool:
        return self.weight(name, now) < self.resting[name]

    def order(self, now: float, rand: float) -> list[str]:
        """Every provider: the first chosen by weight (``rand`` in [0, 1)), then the rest
        by weight, highest first, as fallbacks."""
        weights = {name: self.weight(name, now) for name in self.resting}
        total = sum(weights.values())
        by_weight = sorted(self.resting, key=lambda n: (-weights[n], n))
        if total <= 0:
            return by_weight
        point, first = rand * total, by_weight[0]
        for name in sorted(self.resting):
            if weights[name] <= 0:
                continue
            first = name
            if point < weights[name]:
                break
            point -= weights[name]
        return [first, *(n for n in by_weight if n != first)]

    def record_send(self, name: str, ok: bool, now: float) -> None:
        self._observe(name, "ok" if ok else "error", now)

    def record_receipt(self, name: str, latency: float, now: float) -> None:
        self._observe(name, "slow" if latency > self.slow_after else "prompt", now)

    def _observe(self, name: str, what: Observation, now: float) -> None:
        if name not in self.resting:
            return
        seen = self._seen.setdefault(name, deque())
        counts = self._counts.setdefault(name, Counter())
        seen.append((now, what))
        counts[what] += 1
        while seen and seen[0][0] < now - self.window:
            counts[seen.popleft()[1]] -= 1
        sends = counts["ok"] + counts["error"]
        receipts = counts["prompt"] + counts["slow"]
        failing = _rate(counts["error"], sends, self.min_samples) >= self.max_error_rate
        slow = _rate(counts["slow"], receipts, self.min_samples) >= self.max_slow_rate
        if failing or slow:
            self._demoted_at[name] = now
            seen.clear()  # demote again only on new evidence
            counts.clear()
            if self.on_demote is not None:
                self.on_demote(name, now)


def _rate(bad: int, total: int, min_samples: int) -> float:
    if total < max(1, min_samples):
        return 0.0
    return bad / total
