"""The services an agency takes cases for (Open311's services): "Jalan rusak", "KTP-el"."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from warta.deps import Warta
from warta.domain import cases as rules
from warta.domain import open311
from warta.errors import BadRequest, InvalidInput, NotFound
from warta.services.cases.types import ServiceView
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
