"""Text messages citizens send to an agency's number (MO). The SMPP and HTTP gateways
that deliver them arrive with the SMS issue; this is where they will hand them over."""

from __future__ import annotations

import uuid

from warta.bootstrap import Warta
from warta.domain import recipients
from warta.errors import NotFound
from warta.store.models import ReceivedText


async def receive_text(
    app: Warta, agency_id: uuid.UUID, from_number: str, content: str
) -> ReceivedText:
    sender = recipients.normalise_phone(from_number)
    async with app.uow() as uow:
        agency = await uow.agencies.get(agency_id)
        if agency is None:
            raise NotFound(f"No agency with id {agency_id}")
        row = ReceivedText(
            id=uuid.uuid4(),
            agency_id=agency_id,
            notify_number=agency.sms_sender or "WARTA",
            user_number_enc=app.keyring.encrypt(sender, field="received.user_number"),
            user_number_hash=app.keyring.lookup_hash(sender),
            content_enc=app.keyring.encrypt(content, field="received.content"),
            created_at=app.clock(),
        )
        uow.received_texts.add(row)
        await uow.commit()
    return row
