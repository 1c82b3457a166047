"""What the local capture sinks received (for /dev/outbox), newest first, each with the
notification it carried: SMS through the local SMSC know theirs only by the part
references Warta stored."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from warta.deps import LOCAL_SMSC, Warta
from warta.store.outbox import CapturedMessage


@dataclass(frozen=True)
class Captured:
    message: CapturedMessage
    notification_id: str | None


async def captured(app: Warta, channel: str | None, to: str | None) -> list[Captured]:
    """Optionally only one channel's, or one phone number's or address's."""
    found = [m for m in app.outbox.list() if channel in (None, m.channel) and to in (None, m.to)]
    references = [r for m in found if m.notification_id is None for r in m.reference]
    owners: dict[str, uuid.UUID] = {}
    if references:
        async with app.uow() as uow:
            owners = await uow.sms.notifications_of(LOCAL_SMSC, references)
    shown: list[Captured] = []
    for m in found:
        owner = next((owners[r] for r in m.reference if r in owners), None)
        shown.append(Captured(m, m.notification_id or (str(owner) if owner else None)))
    return shown
