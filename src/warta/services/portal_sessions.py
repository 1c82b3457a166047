"""Citizens' portal sessions: a random token, carried as a cookie or a bearer token and
kept server-side by its hash (``portal_sessions``), so signing out ends it at once and
erasing the citizen ends every one of theirs (the rows go with the citizen's row)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from warta.deps import Warta
from warta.store.models import PortalSession

#: How long a session lasts from sign-in (a citizen on their own phone stays signed in).
SESSION_TTL = timedelta(days=30)


@dataclass(frozen=True)
class Session:
    token: str
    citizen_id: uuid.UUID
    issued_at: datetime
    expires_at: datetime


async def new_session(app: Warta, citizen_id: uuid.UUID, now: datetime) -> Session:
    """A session for the citizen, lasting ``SESSION_TTL``. Expired ones are dropped on the
    way, so the table holds live sessions only."""
    token = secrets.token_urlsafe(32)
    expires = now + SESSION_TTL
    async with app.uow() as uow:
        await uow.portal_sessions.drop_expired(now)
        uow.portal_sessions.add(
            PortalSession(
                token_hash=_token_hash(token),
                citizen_id=citizen_id,
                created_at=now,
                expires_at=expires,
            )
        )
        await uow.commit()
    return Session(token, citizen_id, now, expires)


def _token_hash(token: str) -> str:
    # 32 random bytes: a plain hash keeps a database read from giving away live sessions.
    return hashlib.sha256(token.encode()).hexdigest()


async def citizen_of(app: Warta, token: str) -> uuid.UUID | None:
    """The citizen a session token belongs to, while it lasts and they are registered."""
    if not token:
        return None
    async with app.uow() as uow:
        return await uow.portal_sessions.citizen_of(_token_hash(token), app.clock())


async def end_session(app: Warta, token: str) -> bool:
    """Sign out: the token opens nothing any more. False when it was no live session."""
    async with app.uow() as uow:
        ended = await uow.portal_sessions.end(_token_hash(token))
        await uow.commit()
    return ended
