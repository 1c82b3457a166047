"""What channels call when a provider speaks first: delivery receipts and inbound texts.

Receipts are stored and settled in one transaction (``services.receipts``); inbound texts
go to ``services.inbound``. Nothing it is given is logged: receipts carry no personal data,
inbound texts do.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from warta.deps import Warta
from warta.domain.channels import InboundSms, ObservesReceipts, Receipt
from warta.services.inbound import receive_sms
from warta.services.receipts import settle


class ProviderEventHandler:
    """The ``ProviderEvents`` (``domain.channels``) every channel is built with.

    Made from the ``Warta`` it serves; the composition root builds it before the channels
    and adds them to ``app.channels`` afterwards, so a receipt finds them.
    """

    def __init__(self, app: Warta) -> None:
        self.app = app

    async def receipt(self, receipt: Receipt) -> None:
        await self.receipt_batch([receipt])

    async def receipt_batch(self, receipts: Sequence[Receipt]) -> None:
        """Store several receipts and settle what they finish, in one transaction: a
        channel hands on together the receipts that queued up while it was storing."""
        app = self.app
        now = app.clock()
        callbacks: list[uuid.UUID] = []
        async with app.uow() as uow:
            found = await uow.sms.record_receipts(
                ((r.provider, r.reference, r.status, r.detail) for r in receipts), now
            )
            finished = [notification_id for notification_id, _ in found.values() if notification_id]
            if finished:
                callbacks = await settle(app, uow, finished)
            await uow.commit()
        if callbacks:
            await app.queue.submit("callback", callbacks)
        sms = app.channels.get("sms")
        if not isinstance(sms, ObservesReceipts):
            return
        for receipt in receipts:
            _, sent_at = found.get((receipt.provider, receipt.reference), (None, None))
            if sent_at is not None:
                sms.observe_receipt(receipt.provider, max(0.0, (now - sent_at).total_seconds()))

    async def inbound(self, message: InboundSms) -> None:
        await receive_sms(self.app, message)
