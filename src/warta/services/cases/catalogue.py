"""The services an agency takes cases for (Open311's services): "Jalan rusak", "KTP-el";
the agency's own days off, and which of its templates tells citizens of each step."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from warta.deps import Warta
from warta.domain import cases as rules
from warta.domain import open311
from warta.errors import BadRequest, InvalidInput, NotFound
from warta.services.cases.types import ServiceView
from warta.services.sending import MULTI
from warta.store.models import CaseService


async def create_service(
    app: Warta,
    agency_id: uuid.UUID,
    code: str,
    name: str,
    *,
    group: str = "",
    keywords: Iterable[str] = (),
    kind: str = "laporan",
    description: str = "",
    attributes: Sequence[Any] = (),
) -> ServiceView:
    try:
        code = rules.check_service_code(code)
    except InvalidInput as exc:
        raise BadRequest(exc.msgid, field=exc.field, **exc.values) from exc
    if not name.strip() or len(name) > 255:
        raise BadRequest("1 to 255 characters", field="name")
    if kind not in rules.KINDS:
        raise BadRequest("kind: must be one of %(kinds)s", kinds=", ".join(rules.KINDS))
    try:
        definitions = open311.check_definitions(list(attributes))
    except InvalidInput as exc:
        raise BadRequest(exc.msgid, field=exc.field, **exc.values) from exc
    row = CaseService(
        id=uuid.uuid4(),
        agency_id=agency_id,
        code=code,
        name=name.strip(),
        group_name=group.strip(),
        keywords=",".join(k.strip() for k in keywords if k.strip()),
        kind=kind,
        description=description.strip(),
        attributes_json=json.dumps(definitions),
        active=True,
        created_at=app.clock(),
    )
    async with app.uow() as uow:
        agency = await uow.agencies.get(agency_id)
        if agency is None:
            raise NotFound("Agency not found")
        if await uow.cases.service_by_code(code) is not None:
            raise BadRequest("service code %(code)s: already taken", code=repr(code))
        uow.cases.add(row)
        await uow.commit()
    return view(row, agency.name)


async def services(app: Warta, agency_id: uuid.UUID | None = None) -> list[ServiceView]:
    async with app.uow() as uow:
        rows = await uow.cases.services(agency_id)
        names = await uow.cases.agency_names(r.agency_id for r in rows)
    return [view(row, names.get(row.agency_id, "")) for row in rows]


async def service(app: Warta, code: str) -> ServiceView:
    async with app.uow() as uow:
        row = await uow.cases.service_by_code(code)
        if row is None or not row.active:
            raise NotFound("Service %(code)s not found", code=repr(code))
        names = await uow.cases.agency_names([row.agency_id])
    return view(row, names.get(row.agency_id, ""))


def view(row: CaseService, agency_name: str) -> ServiceView:
    return ServiceView(
        id=row.id,
        agency_id=row.agency_id,
        agency_name=agency_name,
        code=row.code,
        name=row.name,
        group=row.group_name,
        keywords=tuple(k for k in row.keywords.split(",") if k),
        kind=row.kind,
        description=row.description,
        attributes=json.loads(row.attributes_json),
    )


# Days off and messages ------------------------------------------------------------------


async def set_day_off(app: Warta, agency_id: uuid.UUID, day: date, reason: str = "") -> None:
    """A day the agency does not work (cuti bersama, a regional holiday): deadlines set
    from now on skip it; deadlines already running keep their end."""
    async with app.uow() as uow:
        if await uow.agencies.get(agency_id) is None:
            raise NotFound("Agency not found")
        await uow.cases.set_day_off(agency_id, day, reason.strip()[:255])
        await uow.commit()


async def drop_day_off(app: Warta, agency_id: uuid.UUID, day: date) -> None:
    async with app.uow() as uow:
        await uow.cases.drop_day_off(agency_id, day)
        await uow.commit()


async def days_off(app: Warta, agency_id: uuid.UUID) -> list[date]:
    async with app.uow() as uow:
        return sorted(await uow.cases.days_off(agency_id))


async def use_message(
    app: Warta,
    agency_id: uuid.UUID,
    key: str,
    language: str,
    template_id: uuid.UUID,
    service_code: str | None = None,
) -> None:
    """Tell citizens of ``key`` (a status, ``update`` or ``breach``) in ``language`` with
    this template of the agency's: for one of its services, or (no code) all of them."""
    if key not in (*rules.STATUSES, rules.UPDATE, rules.BREACH):
        raise BadRequest("status %(status)s: not a case status, update or breach", status=key)
    if language not in ("id", "en"):
        raise BadRequest("must be id or en", field="language")
    async with app.uow() as uow:
        template = await uow.templates.get(agency_id, template_id)
        wanted = "email" if key == rules.BREACH else MULTI
        if template is None or template.archived or template.type != wanted:
            raise BadRequest(
                "template %(id)s: not one of this agency's %(kind)s templates",
                id=str(template_id),
                kind=wanted,
            )
        service_key = ""
        if service_code is not None:
            service = await uow.cases.service_by_code(service_code)
            if service is None or service.agency_id != agency_id:
                raise NotFound("Service %(code)s not found", code=repr(service_code))
            service_key = str(service.id)
        await uow.cases.use_message(agency_id, service_key, key, language, template_id)
        await uow.commit()
