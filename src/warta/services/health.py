"""Is this Warta ready to take work? What ``GET /health/ready`` answers from.

Two things are required, because without them an accepted message cannot be kept or
cannot go anywhere:

* **the database takes a write**: a real one, committed (``store.db.check_writable``);
  a database that only reads would accept nothing and lose nothing, but answer 503 to
  every send;
* **an SMS provider could take a message**: SMS is the channel every citizen can be
  reached on and the fallback of every route, and Warta holds standing connections to
  SMPP providers, so it knows when all of them are gone. A provider is down while it is
  an SMPP provider not bound, or an HTTP gateway that failover has demoted (too many
  failed sends, or slow receipts, in its window: it counts up again as it recovers).
  Readiness fails only when *every* SMS provider is down.

Email, push and chat are not required: Warta holds no standing connection to them to
judge, and while they are down sends wait in the pipeline's retries, nothing is lost.
"""

from __future__ import annotations

import asyncio

from warta.deps import Warta
from warta.domain.channels import ReportsProviders
from warta.errors import StoreUnavailable
from warta.store.db import check_writable

#: Longest a readiness check waits for the database's write.
WRITE_WITHIN = 5.0


async def problems(app: Warta) -> dict[str, str]:
    """Each required thing that is not well now, by name ("database", "sms"), with why."""
    found: dict[str, str] = {}
    try:
        await check_writable(app.engine, within=WRITE_WITHIN)
    except StoreUnavailable as exc:
        found["database"] = str(exc)
    sms = app.channels.get("sms")
    if isinstance(sms, ReportsProviders):
        up = sms.providers_up()
        if up and not any(up.values()):
            found["sms"] = f"None of the {len(up)} SMS providers can take a message now"
    return found


class Readiness:
    """``problems`` for one process, one probe at a time: callers that come while a probe
    runs share its answer. The endpoint needs no key and each probe takes the database's
    write lock, so a flood of calls must not become a flood of writes."""

    def __init__(self, app: Warta) -> None:
        self.app = app
        self._probe: asyncio.Task[dict[str, str]] | None = None

    async def problems(self) -> dict[str, str]:
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(problems(self.app))
        # Shielded: one caller going away must not cancel the probe the others wait on.
        return await asyncio.shield(self._probe)
