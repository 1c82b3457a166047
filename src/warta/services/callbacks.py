"""The callbacks an agency is owed: a row per finished notification whose agency has a
callback URL. Written in the same unit of work as the status that owes it, so a crash
cannot finish a notification and forget its callback; ``pipeline/callbacks.py`` sends them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from warta.deps import Warta
from warta.store.models import Agency, Callback, Notification


def owe_callbacks(
    app: Warta, agencies: dict[uuid.UUID, Agency | None], finished: Sequence[Notification | Any]
) -> list[Callback]:
    """Callback rows for finished notifications whose agency has a callback URL.

    ``finished`` holds anything with ``id`` and ``agency_id``; ``agencies`` maps each
    agency id to the agency, already loaded by the caller's unit of work.
    """
    now = app.clock()
    return [
        Callback(
            id=uuid.uuid4(),
            notification_id=n.id,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for n in finished
        if (agency := agencies.get(n.agency_id)) is not None and agency.callback_url
    ]
