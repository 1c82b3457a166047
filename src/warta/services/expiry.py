"""An SMS whose delivery receipt never comes ends ``temporary-failure``.

A provider that accepted an SMS owes a receipt; some never send one (a phone off for days,
a provider that drops receipts). Without an end such a message stays ``sending`` for good,
and the agency never hears. As GOV.UK Notify does after 72 hours, the sweeper ends it
after ``WARTA_SMS_RECEIPT_HOURS`` as ``temporary-failure``, just as a failed receipt would:
the agency's status callback is owed, a citizen's message moves to its next channel, and
a receipt arriving later changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from warta.deps import Warta
from warta.domain import statuses
from warta.services.receipts import finish_as

#: Rows ended per transaction; the sweeper comes back for the rest.
BATCH = 500


async def expire_unreceipted(app: Warta) -> int:
    """End the SMS that waited too long for their receipts. Returns how many."""
    hours = app.settings.sms_receipt_hours
    sent_before = app.clock() - timedelta(hours=hours)
    async with app.uow() as uow:
        rows = await uow.expiry.lock_unreceipted_sms(sent_before, limit=BATCH)
        if not rows:
            return 0
        reason = f"No delivery receipt within {hours:g} hours"
        callbacks = await finish_as(
            app, uow, rows, status=statuses.TEMPORARY_FAILURE, reason=reason
        )
        await uow.commit()
    if callbacks:
        await app.queue.submit("callback", callbacks)
    return len(rows)
