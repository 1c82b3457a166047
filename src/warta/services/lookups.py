"""Reads every API request makes, served from the per-process caches when fresh."""

from __future__ import annotations

import uuid

from warta.deps import Warta
from warta.security.apikeys import KeyCandidate, key_type
from warta.store.cache import AgencyKeys
from warta.store.models import Template


async def agency_and_keys(app: Warta, agency_id: uuid.UUID) -> AgencyKeys | None:
    entry = app.caches.agencies.get(agency_id)
    if entry is not None:
        return entry
    async with app.uow() as uow:
        agency = await uow.agencies.get(agency_id)
        if agency is None:
            return None  # not cached: an agency created a moment later must work at once
        rows = await uow.agencies.keys(agency_id)
    keys = [
        KeyCandidate(
            id=k.id,
            key_type=key_type(k.key_type),
            secret=app.keyring.decrypt(k.secret_enc, field="api_key.secret"),
            revoked=k.revoked_at is not None,
        )
        for k in rows
    ]
    entry = AgencyKeys(agency, keys)
    app.caches.agencies.put(agency_id, entry)
    return entry


async def template(app: Warta, agency_id: uuid.UUID, template_id: uuid.UUID) -> Template | None:
    found = app.caches.templates.get(template_id)
    if found is None:
        async with app.uow() as uow:
            found = await uow.templates.get(agency_id, template_id)
        if found is None:
            return None
        app.caches.templates.put(template_id, found)
    return found if found.agency_id == agency_id else None
