"""Bounces and complaints the bounce listener read (issue 19): one row per notification a
report was about, kept for the agency's email health figures, for counting an address's
soft bounces, and so that the same report twice changes nothing the second time."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from warta.store.models.base import Base, UtcDateTime


class EmailFeedback(Base):
    """A ``hard`` or ``soft`` bounce or a ``complaint`` about one email notification.

    A report about a digest email (``pipeline/digests.py``) names its carrier
    (``reported_id``) and gives a row to each notification the email carried
    (``notification_id``), each with its own agency. A report that matched no notification
    keeps only its kind, status code and time (``notification_id``, ``agency_id`` NULL):
    counted, never acted on. ``reason`` is the redacted diagnostic (no address), and the
    address itself is known only by its lookup hash, like the notification's.
    """

    __tablename__ = "email_feedback"
    __table_args__ = (
        # The same report twice is one row: a second hard bounce, complaint or soft
        # bounce about one notification changes nothing (NULLs, the unmatched, never clash).
        UniqueConstraint("notification_id", "kind"),
        # The dashboard: an agency's reports by the day its emails were made.
        Index("ix_email_feedback_agency_day", "agency_id", "notification_created_at"),
        # An address's soft bounces of the last days.
        Index("ix_email_feedback_recipient", "recipient_hash", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # hard | soft | complaint
    notification_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("notifications.id"))
    #: The notification the report named: the email's own (a digest's carrier).
    reported_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"))
    status: Mapped[str] = mapped_column(String(16))  # enhanced status code; "" complaint
    reason: Mapped[str] = mapped_column(String(255))
    recipient_hash: Mapped[str | None] = mapped_column(String(64))
    #: When the notification was made: the WIB day the dashboard counts the email on.
    notification_created_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)  # when the report came
