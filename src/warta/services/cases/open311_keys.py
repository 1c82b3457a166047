"""The ``api_key`` a reporting app (FixMyStreet, a city's own app) files requests with.

Only its SHA-256 is stored, the key shown once, when made. Not a keyed hash: a key
rotation recomputes keyed hashes from the values, and this value is never kept; 32
random bytes need no key to resist guessing.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

from warta.deps import Warta
from warta.errors import AuthError, BadRequest
from warta.store.models import Open311Key


async def create(app: Warta, name: str) -> tuple[uuid.UUID, str]:
    if not name.strip() or len(name) > 255:
        raise BadRequest("1 to 255 characters", field="name")
    api_key = "o311-" + secrets.token_urlsafe(32)
    row = Open311Key(
        id=uuid.uuid4(),
        name=name.strip(),
        key_hash=_hash(api_key),
        revoked=False,
        created_at=app.clock(),
    )
    async with app.uow() as uow:
        uow.cases.add(row)
        await uow.commit()
    return row.id, api_key


async def check(app: Warta, api_key: str | None) -> uuid.UUID:
    """The id of a live key; AuthError (403) for a missing, unknown or revoked one."""
    if not api_key:
        raise AuthError("api_key is required", status_code=403)
    async with app.uow() as uow:
        row = await uow.cases.open311_key(_hash(api_key))
    if row is None or row.revoked:
        raise AuthError("api_key is not valid", status_code=403)
    return row.id


def _hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()
