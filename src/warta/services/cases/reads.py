"""Reading cases, for each who may read them: the owning agency (everything, with internal
notes), the citizen who filed it (their own, without internal notes), and anyone (status
and public updates; where and what only for a report about a public place).

Test-key cases are seen by their agency's test keys only: never in public lists, Open311
or the statistics.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from warta.deps import Warta
from warta.domain import case_stats
from warta.domain import cases as rules
from warta.errors import InvalidInput, NotFound
from warta.services.cases.catalogue import view as service_view
from warta.services.cases.types import (
    CaseView,
    EventView,
    Location,
    PhotoView,
    PublicCase,
    QueueFilter,
    Reporter,
)
from warta.store.models import Case, CaseEvent, CasePhoto
from warta.store.repositories.cases import CaseQuery
from warta.store.uow import UnitOfWork

#: Kinds of case whose place, description and photos are public: a pothole is; a
#: complaint about an official or an application for a KTP-el is not.
PUBLIC_KINDS = frozenset({"laporan"})
#: Events the agency keeps to itself: its notes, who works the case, its missed deadlines.
AGENCY_ONLY = frozenset({"note", "assign", "breach"})


async def case_view(
    app: Warta, case_id: uuid.UUID, *, agency_view: bool, agency_id: uuid.UUID | None = None
) -> CaseView:
    async with app.uow() as uow:
        case = await uow.cases.get(case_id)
        if case is None or (agency_id is not None and case.agency_id != agency_id):
            raise NotFound("Case not found")
        return (await _views(app, uow, [case], agency_view=agency_view))[0]


async def for_agency(
    app: Warta, agency_id: uuid.UUID, ref: str | uuid.UUID, *, key_type: str | None = None
) -> CaseView:
    """One of the agency's cases by id or tracking id; 404 for anyone else's. With a
    ``key_type``, a test key sees only test cases and other keys only real ones."""
    async with app.uow() as uow:
        case = await _find(uow, ref)
        if case is None or case.agency_id != agency_id:
            raise NotFound("Case not found")
        if key_type is not None and (key_type == "test") != (case.key_type == "test"):
            raise NotFound("Case not found")
        return (await _views(app, uow, [case], agency_view=True))[0]


async def queue(
    app: Warta, agency_id: uuid.UUID, ask: QueueFilter, *, key_type: str | None = None
) -> list[CaseView]:
    async with app.uow() as uow:
        query = await _query(uow, ask, agency_id=agency_id)
        if query is None:
            return []
        rows = [
            c
            for c in await uow.cases.find(query)
            if key_type is None or (key_type == "test") == (c.key_type == "test")
        ]
        return await _views(app, uow, rows, agency_view=True)


async def count(app: Warta, agency_id: uuid.UUID, ask: QueueFilter) -> int:
    async with app.uow() as uow:
        query = await _query(uow, ask, agency_id=agency_id)
        return 0 if query is None else await uow.cases.count(query)


async def for_citizen(app: Warta, citizen_id: uuid.UUID) -> list[CaseView]:
    async with app.uow() as uow:
        rows = await uow.cases.find(CaseQuery(citizen_id=citizen_id, limit=200))
        return await _views(app, uow, rows, agency_view=False)


async def citizen_case(app: Warta, citizen_id: uuid.UUID, tracking_id: str) -> CaseView:
    async with app.uow() as uow:
        case = await _find(uow, tracking_id)
        if case is None or case.citizen_id != citizen_id:
            raise NotFound("Case not found")
        return (await _views(app, uow, [case], agency_view=False))[0]


async def public(app: Warta, tracking_id: str) -> PublicCase:
    async with app.uow() as uow:
        case = await _find(uow, tracking_id)
        if case is None or case.key_type == "test":
            raise NotFound("Case not found")
        return (await _publics(app, uow, [case]))[0]


async def by_token(app: Warta, token: str) -> PublicCase:
    async with app.uow() as uow:
        case = await uow.cases.by_token(token)
        if case is None or case.key_type == "test":
            raise NotFound("Token not found")
        return (await _publics(app, uow, [case]))[0]


async def open311_requests(
    app: Warta,
    *,
    ids: Sequence[str] = (),
    service_code: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    statuses: Sequence[str] | None = None,
    page: int = 1,
    page_size: int = 50,
) -> list[PublicCase]:
    """Real cases for Open311's ``GET requests``, newest first."""
    async with app.uow() as uow:
        service_id = None
        if service_code:
            service = await uow.cases.service_by_code(service_code)
            if service is None:
                return []
            service_id = service.id
        query = CaseQuery(
            tracking_ids=[rules.normalise_tracking_id(i) for i in ids] if ids else None,
            service_id=service_id,
            created_from=start,
            created_until=end,
            statuses=statuses,
            public=True,
            offset=(max(page, 1) - 1) * page_size,
            limit=page_size,
        )
        return await _publics(app, uow, await uow.cases.find(query))


async def updates_between(
    app: Warta, start: datetime | None, end: datetime | None
) -> list[tuple[PublicCase, EventView]]:
    """Public updates and status changes of real cases, oldest first (FixMyStreet's
    ``servicerequestupdates``)."""
    async with app.uow() as uow:
        pairs = await uow.cases.public_events_between(start, end)
        publics = {p.tracking_id: p for p in await _publics(app, uow, {c for c, _ in pairs})}
        return [
            (publics[c.tracking_id], _without_reporter_text(_event(app, e, internal=False)))
            for c, e in pairs
        ]


async def resolution_times(
    app: Warta, agency_id: uuid.UUID | None = None
) -> list[case_stats.CaseTimes]:
    """Every real case's filing and resolution times, for the transparency page."""
    async with app.uow() as uow:
        rows = await uow.cases.resolution_rows(agency_id)
        services = await uow.cases.services_by_id(r.service_id for r in rows)
        names = await uow.cases.agency_names(r.agency_id for r in rows)
    return [
        case_stats.CaseTimes(
            agency_id=str(r.agency_id),
            agency_name=names.get(r.agency_id, ""),
            service_code=services[r.service_id].code,
            service_name=services[r.service_id].name,
            received_at=r.created_at,
            resolved_at=r.resolved_at,
            within_deadline=r.within_deadline,
        )
        for r in rows
    ]


async def citizen_photo(
    app: Warta, citizen_id: uuid.UUID, tracking_id: str, photo_id: uuid.UUID
) -> tuple[str, str]:
    """(content type, stored path) of a photo of the citizen's own case."""
    async with app.uow() as uow:
        case = await _find(uow, tracking_id)
        if case is None or case.citizen_id != citizen_id:
            raise NotFound("Photo not found")
        return await _photo_of(uow, case, photo_id)


async def public_photo(app: Warta, tracking_id: str, photo_id: uuid.UUID) -> tuple[str, str]:
    """(content type, stored path) of a public report's photo (``laporan`` only)."""
    async with app.uow() as uow:
        case = await _find(uow, tracking_id)
        if case is None or case.key_type == "test" or case.kind not in PUBLIC_KINDS:
            raise NotFound("Photo not found")
        return await _photo_of(uow, case, photo_id)


async def agency_photo(
    app: Warta, agency_id: uuid.UUID, case_id: uuid.UUID, photo_id: uuid.UUID
) -> tuple[str, str]:
    """(content type, stored path) of a photo of one of the agency's cases."""
    async with app.uow() as uow:
        case = await uow.cases.get(case_id)
        if case is None or case.agency_id != agency_id:
            raise NotFound("Photo not found")
        return await _photo_of(uow, case, photo_id)


async def _photo_of(uow: UnitOfWork, case: Case, photo_id: uuid.UUID) -> tuple[str, str]:
    photo = await uow.cases.photo(case.id, photo_id)
    if photo is None:
        raise NotFound("Photo not found")
    return photo.content_type, photo.path


async def _find(uow: UnitOfWork, ref: str | uuid.UUID) -> Case | None:
    if isinstance(ref, uuid.UUID):
        return await uow.cases.get(ref)
    try:
        return await uow.cases.get(uuid.UUID(ref))
    except ValueError:
        pass
    try:
        return await uow.cases.by_tracking_id(rules.normalise_tracking_id(ref))
    except InvalidInput:
        return None


async def _query(uow: UnitOfWork, ask: QueueFilter, *, agency_id: uuid.UUID) -> CaseQuery | None:
    service_id = None
    if ask.service_code:
        service = await uow.cases.service_by_code(ask.service_code)
        if service is None or service.agency_id != agency_id:
            return None
        service_id = service.id
    page_size = min(max(ask.page_size, 1), 200)
    return CaseQuery(
        agency_id=agency_id,
        statuses=[ask.status] if ask.status else None,
        service_id=service_id,
        region_prefix=ask.region or None,
        overdue=bool(ask.overdue),
        assigned_to=ask.assigned_to,
        by_deadline=True,
        offset=(max(ask.page, 1) - 1) * page_size,
        limit=page_size,
    )


async def _views(
    app: Warta, uow: UnitOfWork, cases: Sequence[Case], *, agency_view: bool
) -> list[CaseView]:
    ids = [c.id for c in cases]
    services = await uow.cases.services_by_id(c.service_id for c in cases)
    names = await uow.cases.agency_names(
        {c.agency_id for c in cases} | {s.agency_id for s in services.values()}
    )
    events = await uow.cases.events(ids)
    photos = await uow.cases.photos(ids)
    originals = await uow.cases.tracking_ids(c.duplicate_of for c in cases if c.duplicate_of)
    keyring = app.keyring
    views = []
    for case in cases:
        service = services[case.service_id]
        where = _open_json(app, case.location_enc, "case.location") or {}
        reporter = _open_json(app, case.reporter_enc, "case.reporter") if agency_view else None
        views.append(
            CaseView(
                id=case.id,
                tracking_id=case.tracking_id,
                agency_id=case.agency_id,
                agency_name=names.get(case.agency_id, ""),
                service=service_view(service, names.get(service.agency_id, "")),
                kind=case.kind,
                status=case.status,
                open311_status=rules.OPEN311_STATUS[case.status],
                extended_status=rules.EXTENDED_STATUS[case.status],
                description=keyring.decrypt(case.description_enc, field="case.description")
                if case.description_enc
                else "",
                location=Location(
                    lat=where.get("lat"),
                    long=where.get("long"),
                    address=where.get("address"),
                    region_code=case.region_code,
                ),
                citizen_id=case.citizen_id,
                reporter=Reporter(**reporter) if reporter else None,
                attributes=_open_json(app, case.attributes_enc, "case.attributes") or {},
                created_at=case.created_at,
                updated_at=case.updated_at,
                due_at=case.due_at,
                breached=case.breached_at is not None,
                assigned_to=case.assigned_to,
                duplicate_of=originals.get(case.duplicate_of) if case.duplicate_of else None,
                events=[
                    _event(app, e, internal=agency_view)
                    for e in events[case.id]
                    if agency_view or e.kind not in AGENCY_ONLY
                ],
                photos=[_photo(p) for p in photos[case.id]],
                source=case.source,
                key_type=case.key_type,
                language=case.language,
                token=case.token,
            )
        )
    return views


async def _publics(app: Warta, uow: UnitOfWork, cases: Any) -> list[PublicCase]:
    views = await _views(app, uow, list(cases), agency_view=False)
    return [
        PublicCase(
            tracking_id=v.tracking_id,
            agency_name=v.agency_name,
            service_code=v.service.code,
            service_name=v.service.name,
            kind=v.kind,
            status=v.status,
            open311_status=v.open311_status,
            extended_status=v.extended_status,
            created_at=v.created_at,
            updated_at=v.updated_at,
            public_updates=[_without_reporter_text(e) for e in v.events if _is_public(e)],
            location=v.location if v.kind in PUBLIC_KINDS else None,
            description=v.description if v.kind in PUBLIC_KINDS else None,
            photos=v.photos if v.kind in PUBLIC_KINDS else [],
            token=v.token,
        )
        for v in views
    ]


def _is_public(event: EventView) -> bool:
    """Status changes and the agency's public messages. A citizen's own replies may hold
    personal details, so the public page shows that they answered, not what."""
    return event.to_status is not None or (
        event.public_message is not None
        and event.actor_kind not in ("citizen", "reporter", "open311")
    )


def _without_reporter_text(event: EventView) -> EventView:
    if event.actor_kind in ("citizen", "reporter", "open311"):
        return replace(event, public_message=None)
    return event


def _event(app: Warta, event: CaseEvent, *, internal: bool) -> EventView:
    public_message = (
        app.keyring.decrypt(event.public_message_enc, field="case.public_message")
        if event.public_message_enc
        else None
    )
    note = None
    if internal and event.internal_note_enc:
        note = app.keyring.decrypt(event.internal_note_enc, field="case.internal_note")
    return EventView(
        id=event.id,
        at=event.at,
        kind=event.kind,
        from_status=event.from_status,
        to_status=event.to_status,
        public_message=public_message,
        internal_note=note,
        actor_kind=event.actor_kind,
        update_id=event.update_id,
    )


def _photo(photo: CasePhoto) -> PhotoView:
    return PhotoView(
        id=photo.id, content_type=photo.content_type, width=photo.width, height=photo.height
    )


def _open_json(app: Warta, blob: bytes | None, name: str) -> Any:
    if not blob:
        return None
    return json.loads(app.keyring.decrypt(blob, field=name))
