"""What erasing a citizen does beyond their own rows (``services/citizens/erasure.py``):
texts their numbers sent, the code limits kept by their contacts' hashes, and the
checkpoints an erasure owes SQLite's write-ahead log (``store/scrub.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, select, update

from warta.store.models import CodeEvent, ReceivedText
from warta.store.models.citizens import PendingCheckpoint
from warta.store.repositories.base import Repository


class ErasureQueries(Repository):
    """The erasure part of ``uow.citizens``."""

    async def forget_texts_from(
        self, phone_hashes: Collection[str], user_number_enc: bytes, content_enc: bytes
    ) -> None:
        """Texts sent from these numbers keep their agency, number texted and time, and
        lose who sent them and what they said (the sealed empty text; lookup hash "")."""
        if not phone_hashes:
            return
        await self.session.execute(
            update(ReceivedText)
            .where(ReceivedText.user_number_hash.in_(list(phone_hashes)))
            .values(user_number_enc=user_number_enc, user_number_hash="", content_enc=content_enc)
        )

    async def forget_code_events(self, key_hashes: Collection[str]) -> None:
        """The codes sent to these contacts and the wrong guesses at them."""
        if key_hashes:
            await self.session.execute(
                delete(CodeEvent).where(CodeEvent.key_hash.in_(list(key_hashes)))
            )

    def owe_checkpoint(self, now: datetime) -> None:
        self.session.add(PendingCheckpoint(id=uuid.uuid4(), created_at=now))

    async def checkpoints_owed(self) -> list[uuid.UUID]:
        return list(await self.session.scalars(select(PendingCheckpoint.id)))

    async def checkpoints_made(self, owed: Collection[uuid.UUID]) -> None:
        """These are paid: a truncating checkpoint began after they were committed."""
        if owed:
            await self.session.execute(
                delete(PendingCheckpoint).where(PendingCheckpoint.id.in_(list(owed)))
            )
