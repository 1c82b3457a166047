"""Citizens' portal sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from warta.store.models.base import Base, UtcDateTime


class PortalSession(Base):
    """A citizen's portal session, kept server-side so signing out ends it at once, and
    erasing the citizen ends all of theirs (the row goes with the citizen's). Only a hash
    of the token is stored: a database read gives away no live session."""

    __tablename__ = "portal_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    citizen_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
