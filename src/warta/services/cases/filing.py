"""Filing a case, from wherever it comes: Open311, the portal, the case API, the console.

The case belongs to the agency whose service it is about. Its reporter is a citizen of
the registry (told through their own preferences) or an anonymous reporter with an
optional contact (told there, if they gave one). Photos are checked and stripped before
anything is written; the case, its first event, its deadline and the agency's webhook are
one transaction, and the citizen is told after it commits.
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import datetime

from warta.deps import Warta
from warta.domain import cases as rules
from warta.domain import open311
from warta.domain.regions import parse_region
from warta.errors import BadRequest, InvalidInput, NotFound
from warta.services.cases import photos, reads, recording, telling
from warta.services.cases.types import Actor, CaseView, Location, NewCase, Reporter
from warta.services.sending import normalise_recipient
from warta.store.models import Case, CasePhoto, CaseService

#: Around Indonesia, with room for its seas: a swapped latitude and longitude is caught.
_LAT = (-12.0, 7.0)
_LONG = (94.0, 142.0)


async def file_case(app: Warta, actor: Actor, new: NewCase) -> CaseView:
    now = app.clock()
    description = _description(new.description)
    location = _location(new.location)
    reporter = _reporter(new.reporter)
    if new.language not in ("id", "en"):
        raise BadRequest("must be id or en", field="language")
    if len(new.photos) > app.settings.case_photos_per_case:
        raise BadRequest(
            "at most %(n)s on a case", n=app.settings.case_photos_per_case, field="photos"
        )
    accepted = [await photos.accept(app, data) for data in new.photos]
    done = recording.Recorded()
    try:
        async with app.uow() as uow:
            service = await _service(uow, actor, new.service_code)
            values = open311.check_answers(
                json.loads(service.attributes_json),
                {k: [v] if isinstance(v, str) else v for k, v in new.attributes.items()},
            )
            citizen_id = await _citizen(uow, actor, new.citizen_id, service.agency_id)
            case = Case(
                id=uuid.uuid4(),
                tracking_id=await _new_tracking_id(uow),
                agency_id=service.agency_id,
                service_id=service.id,
                kind=service.kind,
                status="received",
                citizen_id=citizen_id,
                region_code=location.region_code,
                **_sealed(app, description, location, reporter, values),
                language=new.language,
                source=new.source,
                open311_key_id=actor.id if actor.kind == "open311" else None,
                key_type=actor.key_type if actor.kind == "agency" else "normal",
                token=str(uuid.uuid4()),
                within_deadline=True,
                step_started_at=now,
                created_at=now,
                updated_at=now,
            )
            uow.cases.add(case)
            for photo in accepted:
                uow.cases.add(_photo_row(case.id, photo, now))
            await recording.restart_step(app, uow, case, now)
            if citizen_id is not None:
                await uow.citizens.link(case.agency_id, citizen_id, now)
            told = citizen_id is not None or reporter is not None
            await recording.record(
                app, uow, case, actor, "filed", done, to_status="received", tell=told, now=now
            )
            await uow.commit()
    except BaseException:
        for photo in accepted:
            await photos.discard(app, photo.blob_path)
        raise
    await telling.after_commit(app, done)
    return await reads.case_view(app, case.id, agency_view=True)


async def _service(uow: recording.UnitOfWork, actor: Actor, code: str) -> CaseService:
    service = await uow.cases.service_by_code(code)
    # An agency files only for its own services; another's is not there for it.
    if (
        service is None
        or not service.active
        or (actor.for_agency and service.agency_id != actor.agency_id)
    ):
        raise NotFound("Service %(code)s not found", code=repr(code))
    return service


def _sealed(
    app: Warta,
    description: str,
    location: Location,
    reporter: Reporter | None,
    values: dict[str, str | list[str]],
) -> dict[str, bytes | None]:
    """What the reporter wrote, each part sealed in its column."""
    return {
        "reporter_enc": _seal_json(app, reporter, "case.reporter"),
        "description_enc": app.keyring.encrypt(description, field="case.description"),
        "location_enc": _seal_json(app, _where(location), "case.location"),
        "attributes_enc": _seal_json(app, values, "case.attributes"),
    }


async def _citizen(
    uow: recording.UnitOfWork,
    actor: Actor,
    citizen_id: uuid.UUID | None,
    agency_id: uuid.UUID,
) -> uuid.UUID | None:
    if actor.kind == "citizen":
        return actor.id  # signed in to the portal: filing as themselves
    if citizen_id is None:
        return None
    if not actor.for_agency:
        raise BadRequest("only an agency may name a citizen", field="citizen_id")
    # The agency must already know the citizen, as for a send (docs/trust.md).
    citizen = await uow.citizens.visible(agency_id, citizen_id, sandbox=actor.key_type == "test")
    if citizen is None:
        raise BadRequest("no such citizen known to this agency", field="citizen_id")
    return citizen.id


async def _new_tracking_id(uow: recording.UnitOfWork) -> str:
    for _ in range(10):
        tracking_id = rules.new_tracking_id()
        if not await uow.cases.tracking_id_taken(tracking_id):
            return tracking_id
    raise RuntimeError("no free tracking id after 10 tries")  # 32**7 ids: never in practice


def _description(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise BadRequest("cannot be empty", field="description")
    if len(text) > rules.MAX_DESCRIPTION:
        raise BadRequest(
            "at most %(max)s characters",
            max=rules.MAX_DESCRIPTION,
            field="description",
        )
    if "\x00" in text:
        raise BadRequest("cannot contain a NUL character", field="description")
    return text


def _location(location: Location) -> Location:
    lat, long = location.lat, location.long
    if (lat is None) != (long is None):
        raise BadRequest("lat and long: give both or neither")
    if lat is not None and long is not None:
        if not (math.isfinite(lat) and math.isfinite(long)):
            raise BadRequest("lat and long: must be numbers")
        if not (_LAT[0] <= lat <= _LAT[1] and _LONG[0] <= long <= _LONG[1]):
            raise BadRequest(
                "lat %(lat)s, long %(long)s: not in Indonesia (are they swapped?)",
                lat=lat,
                long=long,
            )
    address = (location.address or "").strip() or None
    if address is not None and (len(address) > 500 or "\x00" in address):
        raise BadRequest("at most 500 characters", field="address")
    region = parse_region(location.region_code).code if location.region_code else None
    return Location(lat=lat, long=long, address=address, region_code=region)


def _reporter(reporter: Reporter | None) -> Reporter | None:
    if reporter is None:
        return None
    name = (reporter.name or "").strip()[:200] or None
    try:
        email = normalise_recipient("email", reporter.email) if reporter.email else None
        phone = normalise_recipient("sms", reporter.phone) if reporter.phone else None
    except InvalidInput as exc:
        raise BadRequest(exc.msgid, field="reporter", **exc.values) from exc
    if not (name or email or phone):
        return None
    return Reporter(name=name, email=email, phone=phone)


def _where(location: Location) -> dict[str, object] | None:
    if location.lat is None and location.address is None:
        return None
    return {"lat": location.lat, "long": location.long, "address": location.address}


def _seal_json(app: Warta, value: object, name: str) -> bytes | None:
    if not value:
        return None
    if isinstance(value, Reporter):
        value = {"name": value.name, "email": value.email, "phone": value.phone}
    return app.keyring.encrypt(json.dumps(value, ensure_ascii=False), field=name)


def _photo_row(case_id: uuid.UUID, photo: photos.AcceptedPhoto, now: datetime) -> CasePhoto:
    return CasePhoto(
        id=uuid.uuid4(),
        case_id=case_id,
        content_type=photo.content_type,
        width=photo.width,
        height=photo.height,
        path=photo.blob_path,
        created_at=now,
    )
