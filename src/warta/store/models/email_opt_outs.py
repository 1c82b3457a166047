"""Addresses that stopped an agency's non-urgent email: the one-click unsubscribe link
(RFC 8058) or a spam complaint (issue 19). The email twin of ``sms_opt_outs``."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from warta.store.models.base import Base, UtcDateTime


class EmailOptOut(Base):
    """An address (by its keyed hash) that takes no more non-urgent email from an agency
    (``topic`` "") or from one of its topics (``topic`` the slug). ``source`` says how:
    ``unsubscribe`` (the link or the mailto in List-Unsubscribe) or ``complaint`` (an ARF
    report). Urgent email still goes: an alert is never something one unsubscribes from."""

    __tablename__ = "email_opt_outs"

    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    topic: Mapped[str] = mapped_column(String(100), primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
