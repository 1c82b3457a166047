"""Cases: services, cases and their events, photos, days off, Open311 keys, case messages."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, and_, delete, func, or_, select, update

from warta.store.models import (
    Agency,
    AgencyDayOff,
    Case,
    CaseEvent,
    CaseMessage,
    CasePhoto,
    CaseService,
    Open311Key,
)
from warta.store.repositories.base import Repository

#: Statuses no timer runs for.
_FINAL = ("closed", "rejected", "duplicate")


@dataclass(frozen=True)
class CaseQuery:
    """What a queue or a list asks for; None: any."""

    agency_id: uuid.UUID | None = None
    statuses: Sequence[str] | None = None
    service_id: uuid.UUID | None = None
    region_prefix: str | None = None
    overdue: bool = False  # only open cases that missed their deadline
    assigned_to: uuid.UUID | None = None
    citizen_id: uuid.UUID | None = None
    tracking_ids: Sequence[str] | None = None
    created_from: datetime | None = None
    created_until: datetime | None = None
    #: Public lists show real cases only; test-key cases stay with their agency.
    public: bool = False
    #: A work queue puts the nearest deadline first; lists show the newest first.
    by_deadline: bool = False
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True)
class ResolutionRow:
    """One real case as the transparency page counts it."""

    agency_id: uuid.UUID
    service_id: uuid.UUID
    created_at: datetime
    resolved_at: datetime | None
    within_deadline: bool


class CaseRepository(Repository):
    # Services ------------------------------------------------------------------------

    async def service_by_code(self, code: str) -> CaseService | None:
        return await self.session.scalar(select(CaseService).where(CaseService.code == code))

    async def service(self, service_id: uuid.UUID) -> CaseService | None:
        return await self.session.get(CaseService, service_id)

    async def services(self, agency_id: uuid.UUID | None = None) -> list[CaseService]:
        query = select(CaseService).where(CaseService.active.is_(True))
        if agency_id is not None:
            query = query.where(CaseService.agency_id == agency_id)
        return list(await self.session.scalars(query.order_by(CaseService.code)))

    async def services_by_id(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, CaseService]:
        wanted = set(ids)
        if not wanted:
            return {}
        rows = await self.session.scalars(select(CaseService).where(CaseService.id.in_(wanted)))
        return {row.id: row for row in rows}

    # Cases ---------------------------------------------------------------------------

    async def get(self, case_id: uuid.UUID, *, for_update: bool = False) -> Case | None:
        query = select(Case).where(Case.id == case_id)
        if for_update:
            # PostgreSQL: two changes to one case wait for each other; SQLite has one writer.
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def by_tracking_id(self, tracking_id: str) -> Case | None:
        return await self.session.scalar(select(Case).where(Case.tracking_id == tracking_id))

    async def by_token(self, token: str) -> Case | None:
        return await self.session.scalar(select(Case).where(Case.token == token))

    async def tracking_id_taken(self, tracking_id: str) -> bool:
        found = await self.session.scalar(
            select(Case.id).where(Case.tracking_id == tracking_id).limit(1)
        )
        return found is not None

    async def find(self, ask: CaseQuery) -> list[Case]:
        query = self._where(select(Case), ask)
        if ask.by_deadline:
            # Open cases by their deadline, the finished (no deadline) after them.
            query = query.order_by(Case.due_at.is_(None), Case.due_at, Case.created_at.desc())
        else:
            query = query.order_by(Case.created_at.desc(), Case.id.desc())
        return list(await self.session.scalars(query.offset(ask.offset).limit(ask.limit)))

    def _where(self, query: Select[tuple[Case]], ask: CaseQuery) -> Select[tuple[Case]]:
        if ask.agency_id is not None:
            query = query.where(Case.agency_id == ask.agency_id)
        if ask.statuses is not None:
            query = query.where(Case.status.in_(list(ask.statuses)))
        if ask.service_id is not None:
            query = query.where(Case.service_id == ask.service_id)
        if ask.region_prefix:
            query = query.where(
                or_(
                    Case.region_code == ask.region_prefix,
                    Case.region_code.startswith(ask.region_prefix + ".", autoescape=True),
                )
            )
        if ask.overdue:
            query = query.where(Case.breached_at.is_not(None), Case.status.not_in(_FINAL))
        if ask.assigned_to is not None:
            query = query.where(Case.assigned_to == ask.assigned_to)
        if ask.citizen_id is not None:
            query = query.where(Case.citizen_id == ask.citizen_id)
        if ask.tracking_ids is not None:
            query = query.where(Case.tracking_id.in_(list(ask.tracking_ids)))
        if ask.created_from is not None:
            query = query.where(Case.created_at >= ask.created_from)
        if ask.created_until is not None:
            query = query.where(Case.created_at <= ask.created_until)
        if ask.public:
            query = query.where(Case.key_type != "test")
        return query

    async def due(self, now: datetime, limit: int = 100) -> list[uuid.UUID]:
        """Open cases whose step has ended and not yet been acted on: agency steps not
        yet flagged, citizen steps (which close the case)."""
        query = (
            select(Case.id)
            .where(
                Case.due_at.is_not(None),
                Case.due_at <= now,
                Case.status.not_in(_FINAL),
                Case.breached_at.is_(None) | Case.status.in_(("waiting_for_citizen", "resolved")),
            )
            .order_by(Case.due_at)
            .limit(limit)
        )
        return list(await self.session.scalars(query))

    async def resolution_rows(
        self, agency_id: uuid.UUID | None = None, service_id: uuid.UUID | None = None
    ) -> list[ResolutionRow]:
        query = select(
            Case.agency_id, Case.service_id, Case.created_at, Case.resolved_at, Case.within_deadline
        ).where(Case.key_type != "test")
        if agency_id is not None:
            query = query.where(Case.agency_id == agency_id)
        if service_id is not None:
            query = query.where(Case.service_id == service_id)
        return [ResolutionRow(*row) for row in await self.session.execute(query)]

    async def agency_names(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        wanted = set(ids)
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(Agency.id, Agency.name).where(Agency.id.in_(wanted))
        )
        return {agency_id: name for agency_id, name in rows}

    async def tracking_ids(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        wanted = set(ids)
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(Case.id, Case.tracking_id).where(Case.id.in_(wanted))
        )
        return {case_id: tracking for case_id, tracking in rows}

    # Events --------------------------------------------------------------------------

    async def events(self, case_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[CaseEvent]]:
        wanted = set(case_ids)
        found: dict[uuid.UUID, list[CaseEvent]] = {case_id: [] for case_id in wanted}
        if not wanted:
            return found
        rows = await self.session.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id.in_(wanted))
            .order_by(CaseEvent.at, CaseEvent.id)
        )
        for row in rows:
            found[row.case_id].append(row)
        return found

    async def event(self, event_id: uuid.UUID) -> CaseEvent | None:
        return await self.session.get(CaseEvent, event_id)

    async def event_by_update_id(self, case_id: uuid.UUID, update_id: str) -> CaseEvent | None:
        return await self.session.scalar(
            select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.update_id == update_id)
        )

    async def untold(self, before: datetime, limit: int = 500) -> list[uuid.UUID]:
        """Events the citizen is still owed a message about, written before ``before``."""
        rows = await self.session.scalars(
            select(CaseEvent.id)
            .where(CaseEvent.tell.is_(True), CaseEvent.told_at.is_(None), CaseEvent.at < before)
            .order_by(CaseEvent.at)
            .limit(limit)
        )
        return list(rows)

    async def mark_told(self, event_id: uuid.UUID, now: datetime) -> bool:
        """Claim the telling of one event; False when another process already did."""
        result = await self.session.execute(
            update(CaseEvent)
            .where(CaseEvent.id == event_id, CaseEvent.told_at.is_(None))
            .values(told_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def public_events_between(
        self, start: datetime | None, end: datetime | None, limit: int = 1000
    ) -> list[tuple[Case, CaseEvent]]:
        """Events with a public message or a status change of real cases, oldest first."""
        query = (
            select(Case, CaseEvent)
            .join(CaseEvent, CaseEvent.case_id == Case.id)
            .where(
                Case.key_type != "test",
                or_(CaseEvent.public_message_enc.is_not(None), CaseEvent.to_status.is_not(None)),
            )
        )
        if start is not None:
            query = query.where(CaseEvent.at >= start)
        if end is not None:
            query = query.where(CaseEvent.at <= end)
        rows = await self.session.execute(query.order_by(CaseEvent.at, CaseEvent.id).limit(limit))
        return [(case, event) for case, event in rows]

    # Photos --------------------------------------------------------------------------

    async def photos(self, case_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[CasePhoto]]:
        wanted = set(case_ids)
        found: dict[uuid.UUID, list[CasePhoto]] = {case_id: [] for case_id in wanted}
        if not wanted:
            return found
        rows = await self.session.scalars(
            select(CasePhoto)
            .where(CasePhoto.case_id.in_(wanted))
            .order_by(CasePhoto.created_at, CasePhoto.id)
        )
        for row in rows:
            found[row.case_id].append(row)
        return found

    async def photo(self, case_id: uuid.UUID, photo_id: uuid.UUID) -> CasePhoto | None:
        return await self.session.scalar(
            select(CasePhoto).where(CasePhoto.id == photo_id, CasePhoto.case_id == case_id)
        )

    # Days off, keys, messages ----------------------------------------------------------

    async def days_off(self, agency_id: uuid.UUID) -> list[date]:
        rows = await self.session.scalars(
            select(AgencyDayOff.day).where(AgencyDayOff.agency_id == agency_id)
        )
        return list(rows)

    async def set_day_off(self, agency_id: uuid.UUID, day: date, reason: str) -> None:
        await self.session.merge(AgencyDayOff(agency_id=agency_id, day=day, reason=reason))

    async def drop_day_off(self, agency_id: uuid.UUID, day: date) -> None:
        await self.session.execute(
            delete(AgencyDayOff).where(
                and_(AgencyDayOff.agency_id == agency_id, AgencyDayOff.day == day)
            )
        )

    async def open311_key(self, key_hash: str) -> Open311Key | None:
        return await self.session.scalar(select(Open311Key).where(Open311Key.key_hash == key_hash))

    async def message_template(
        self, agency_id: uuid.UUID, service_key: str, status: str, language: str
    ) -> uuid.UUID | None:
        return await self.session.scalar(
            select(CaseMessage.template_id).where(
                CaseMessage.agency_id == agency_id,
                CaseMessage.service_key == service_key,
                CaseMessage.status == status,
                CaseMessage.language == language,
            )
        )

    async def use_message(
        self,
        agency_id: uuid.UUID,
        service_key: str,
        status: str,
        language: str,
        template_id: uuid.UUID,
    ) -> None:
        row = await self.session.scalar(
            select(CaseMessage).where(
                CaseMessage.agency_id == agency_id,
                CaseMessage.service_key == service_key,
                CaseMessage.status == status,
                CaseMessage.language == language,
            )
        )
        if row is None:
            self.add(
                CaseMessage(
                    id=uuid.uuid4(),
                    agency_id=agency_id,
                    service_key=service_key,
                    status=status,
                    language=language,
                    template_id=template_id,
                )
            )
        else:
            row.template_id = template_id

    # Erasure ---------------------------------------------------------------------------

    async def forget_citizen(self, citizen_id: uuid.UUID) -> list[str]:
        """Detach an erased citizen's cases and wipe what they wrote; the cases stay (the
        agency's record and the statistics) with nothing personal left. Returns the photo
        files to delete."""
        case_ids = list(
            await self.session.scalars(select(Case.id).where(Case.citizen_id == citizen_id))
        )
        if not case_ids:
            return []
        paths = list(
            await self.session.scalars(
                select(CasePhoto.path).where(CasePhoto.case_id.in_(case_ids))
            )
        )
        await self.session.execute(delete(CasePhoto).where(CasePhoto.case_id.in_(case_ids)))
        await self.session.execute(
            update(CaseEvent)
            .where(
                CaseEvent.case_id.in_(case_ids), CaseEvent.actor_kind.in_(("citizen", "reporter"))
            )
            .values(public_message_enc=None)
        )
        await self.session.execute(
            update(Case)
            .where(Case.id.in_(case_ids))
            .values(
                citizen_id=None,
                reporter_enc=None,
                description_enc=b"",
                location_enc=None,
                attributes_enc=None,
            )
        )
        return paths

    async def count(self, ask: CaseQuery) -> int:
        query = self._where(select(func.count()).select_from(Case), ask)  # type: ignore[arg-type]
        return int(await self.session.scalar(query) or 0)
