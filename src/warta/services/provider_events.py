"""What channels call when a provider speaks first: delivery receipts and inbound texts.

Receipts are stored and settled in one transaction (``services.receipts``); inbound texts
go to ``services.inbound``, and to the chatbot when they are not a keyword. Nothing it is
given is logged: receipts carry no personal data, inbound texts do.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence

from warta import metrics
from warta.deps import Warta
from warta.domain import keywords, recipients
from warta.domain.channels import InboundSms, ObservesReceipts, Receipt
from warta.errors import InvalidInput, WartaError
from warta.services.chatbot import engine, outbound
from warta.services.chatbot.types import Incoming
from warta.services.inbound import receive_sms
from warta.services.receipts import settle

log = logging.getLogger(__name__)
_answers: set[asyncio.Task[None]] = set()  # keeps the chatbot's answers alive until sent


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
        for receipt in receipts:
            _, sent_at = found.get((receipt.provider, receipt.reference), (None, None))
            if sent_at is None:
                continue
            lag = max(0.0, (now - sent_at).total_seconds())
            metrics.receipt_lag(receipt.provider, lag)
            if isinstance(sms, ObservesReceipts):
                sms.observe_receipt(receipt.provider, lag)

    async def inbound(self, message: InboundSms) -> None:
        """A citizen's text: stored and forwarded (``inbound``); anything but a keyword,
        from a mobile number, to an agency, is also answered by the chatbot, in the
        background so a provider's receipts and replies are not held up by it."""
        row = await receive_sms(self.app, message)
        if keywords.parse(message.text) is not None or row.agency_id is None:
            # A keyword is answered by ``inbound``; so is a text no agency is for (the
            # platform's notice, once a day): a machine texting WARTA must not start a
            # conversation without end.
            return
        try:
            sender = recipients.normalise_phone(message.sender)
        except InvalidInput:
            return  # a short code or an alphanumeric sender cannot read an answer
        task = asyncio.create_task(self._converse(row.agency_id, sender, message.text))
        _answers.add(task)
        task.add_done_callback(_answers.discard)

    async def _converse(self, agency_id: uuid.UUID | None, sender: str, text: str) -> None:
        app = self.app
        try:
            said = await engine.handle(app, Incoming("sms", sender, text, agency_id=agency_id))
            async with app.uow() as uow:
                agency = await uow.agencies.get(agency_id) if agency_id else None
            await outbound.deliver(
                app, "sms", sender, agency, said.text, said.options, said.language
            )
        except WartaError as exc:
            log.warning("chatbot answer to an SMS failed: %s", type(exc).__name__)
