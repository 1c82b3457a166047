"""DKIM signing keys, per sending domain (docs/email.md "DNS set-up")."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from warta.store.models.base import Base, UtcDateTime


class DkimKey(Base):
    """A key pair that signs mail whose From address is at ``domain``.

    Owned by an agency, or by Warta itself (``agency_id`` NULL: the domain of
    ``WARTA_EMAIL_FROM_DOMAIN``). Rotation adds a key under a new selector and sets the old
    one's ``retired_at``: the newest unretired key signs, and the retired ones stay listed
    so their DNS records are kept until mail signed with them is no longer checked.
    The private key is sealed with the keyring (field ``dkim.private_key``).
    """

    __tablename__ = "dkim_keys"
    __table_args__ = (Index("ix_dkim_keys_domain_selector", "domain", "selector", unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    domain: Mapped[str] = mapped_column(String(253))
    selector: Mapped[str] = mapped_column(String(63))
    private_key_enc: Mapped[bytes] = mapped_column(LargeBinary)
    public_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
