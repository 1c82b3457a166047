"""Reads every API request makes, served from the per-process caches when fresh."""

from __future__ import annotations

import uuid

from warta.deps import Warta
from warta.security.apikeys import KeyCandidate, key_type
from warta.store.cache import AgencyKeys
from warta.store.models import Template


async def agency_and_keys(app: Warta, agency_id: uuid.UUID) -> AgencyKeys | None:
    """None (and nothing cached): an agency created a moment later must work at once."""

    async def load() -> AgencyKeys | None:
        async with app.uow() as uow:
            agency = await uow.agencies.get(agency_id)
            if agency is None:
                return None
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
        return AgencyKeys(agency, keys)

    return await app.caches.agencies.get_or_load(agency_id, load)


async def template(app: Warta, agency_id: uuid.UUID, template_id: uuid.UUID) -> Template | None:
    async def load() -> Template | None:
        async with app.uow() as uow:
            return await uow.templates.get(agency_id, template_id)

    found = await app.caches.templates.get_or_load(template_id, load)
    if found is None:  # the shared load may have been another agency's, blind to this one's
        found = await load()
    return found if found is not None and found.agency_id == agency_id else None
