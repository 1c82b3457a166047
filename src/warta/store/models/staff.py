"""Console staff, their sessions, and the wrong sign-in tries counted against lockout."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Uuid,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from warta.store.models.base import Base, UtcDateTime


class Staff(Base):
    """A person at an agency who signs in to the console. Email and name are personal
    data (sealed, found by keyed hash); the password is an argon2 hash; the TOTP secret
    is sealed, and ``totp_step`` keeps the last accepted time step so a code works once."""

    __tablename__ = "staff"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    email_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email_enc: Mapped[bytes] = mapped_column(LargeBinary)
    name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    role: Mapped[str] = mapped_column(String(10))
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_enrolled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    totp_step: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class StaffSession(Base):
    """A console session, kept server-side so signing out or removing a person ends it.
    Only a hash of the token is stored. ``stage`` is ``password`` (second factor still
    due), ``enrol`` (must set up TOTP first) or ``full``."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"), index=True)
    stage: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class StaffSignInFailure(Base):
    """Wrong console sign-in tries (``domain.staff.Lockout``), one row per account and
    client address, and one per account (``client_hash`` "") for the ceiling. Keys are
    keyed hashes of the typed email and of the address: an unknown email is counted like
    a real one, so counting shows nobody who has an account. ``last_at`` is the latest
    counted try; a count older than its lock starts again."""

    __tablename__ = "staff_sign_in_failures"

    account_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
