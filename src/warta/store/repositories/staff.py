"""Console staff, their sessions, and the wrong sign-in tries counted against lockout."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, delete, or_, select, update

from warta.domain.staff import Allowance, Lockout
from warta.store.models import (
    Staff,
    StaffSession,
    StaffSignInFailure,
)
from warta.store.repositories.base import Repository

_F = StaffSignInFailure


class StaffRepository(Repository):
    async def get(self, staff_id: uuid.UUID) -> Staff | None:
        return await self.session.get(Staff, staff_id)

    async def by_email_hash(self, hashes: Sequence[str]) -> Staff | None:
        return await self.session.scalar(select(Staff).where(Staff.email_hash.in_(hashes)))

    async def of_agency(self, agency_id: uuid.UUID) -> Sequence[Staff]:
        query = (
            select(Staff)
            .where(Staff.agency_id == agency_id, Staff.removed_at.is_(None))
            .order_by(Staff.created_at)
        )
        return (await self.session.scalars(query)).all()

    async def session_of(self, token_hash: str) -> StaffSession | None:
        return await self.session.get(StaffSession, token_hash)

    async def end_session(self, token_hash: str) -> None:
        await self.session.execute(
            delete(StaffSession).where(StaffSession.token_hash == token_hash)
        )

    async def end_sessions_of(self, staff_id: uuid.UUID) -> None:
        await self.session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))

    async def take_totp_step(self, staff_id: uuid.UUID, step: int) -> bool:
        """Mark a TOTP time step used, if no later or equal one was: one statement, so two
        requests with one code at once cannot both get in."""
        result = await self.session.execute(
            update(Staff)
            .where(Staff.id == staff_id, Staff.totp_step < step)
            .values(totp_step=step, totp_enrolled=True)
        )
        return _count(result) == 1

    # -- lockout (``domain.staff.Lockout``) -----------------------------------------------

    async def reserve_try(
        self, account_hash: str, client_hash: str, lockout: Lockout, now: datetime
    ) -> bool:
        """Count one more wrong try for the account from this client, and toward the
        account's ceiling, *before* it is checked: False when either is at its limit (then
        roll back: nothing is counted). Each count is one conditional ``UPDATE`` that
        increments, so requests at once take the free tries one each and no more, on
        SQLite (one writer) and PostgreSQL (the row lock) alike. Commit before checking.

        Counts no limit looks at any more are dropped on the way (the first write, which on
        SQLite also takes the write lock before anything is read)."""
        await self.session.execute(delete(_F).where(_F.last_at < now - lockout.kept))
        for client, allowance in ((client_hash, lockout.per_client), ("", lockout.per_account)):
            if not await self._take(account_hash, client, allowance, now):
                return False
        return True

    async def _take(self, account: str, client: str, allowance: Allowance, now: datetime) -> bool:
        row = {"account_hash": account, "client_hash": client, "failures": 0, "last_at": now}
        await self.session.execute(self._insert(_F).values(**row).on_conflict_do_nothing())
        stale = now - allowance.lock  # a count older than this starts again
        result = await self.session.execute(
            update(_F)
            .where(
                _F.account_hash == account,
                _F.client_hash == client,
                or_(_F.failures < allowance.limit, _F.last_at <= stale),
            )
            .values(failures=case((_F.last_at <= stale, 1), else_=_F.failures + 1), last_at=now)
        )
        return _count(result) == 1

    async def forgive_try(self, account_hash: str, client_hash: str) -> None:
        """A right answer: this client's count starts again, and the try it reserved of the
        account's ceiling is given back (others' wrong tries there still count)."""
        await self.session.execute(
            update(_F)
            .where(_F.account_hash == account_hash, _F.client_hash == client_hash)
            .values(failures=0)
        )
        await self.session.execute(
            update(_F)
            .where(_F.account_hash == account_hash, _F.client_hash == "", _F.failures > 0)
            .values(failures=_F.failures - 1)
        )

    async def forget_tries(self, account_hash: str) -> None:
        """Lift every count on the account (an operator's reset)."""
        await self.session.execute(delete(_F).where(_F.account_hash == account_hash))


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
