"""Warta's own secrets, sealed in the database: the Web Push (VAPID) key pair, made at
first start, and the push and chat providers' credentials set with ``warta channel set``.

Sealed with the same keyring as personal data (field ``platform.secret``), so a database
dump alone gives away neither the bot token nor the key that signs pushes, and key
rotation covers them too.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from warta.security.crypto import Keyring
from warta.store.models import PlatformSecret
from warta.store.uow import UnitOfWork

FIELD = "platform.secret"
#: Every name a secret may have, and what ``warta channel set`` takes for it.
SERVICES = ("fcm", "telegram", "whatsapp")
VAPID = "vapid"


async def load(uow: UnitOfWork, keyring: Keyring, name: str) -> dict[str, Any] | None:
    row = await uow.platform_secrets.get(name)
    if row is None:
        return None
    value: dict[str, Any] = json.loads(keyring.decrypt(row.value_enc, field=FIELD))
    return value


async def store(
    uow: UnitOfWork, keyring: Keyring, name: str, value: dict[str, Any], now: datetime
) -> None:
    sealed = keyring.encrypt(json.dumps(value, sort_keys=True), field=FIELD)
    row = await uow.platform_secrets.get(name)
    if row is None:
        row = PlatformSecret(name=name, value_enc=sealed, created_at=now, updated_at=now)
        uow.platform_secrets.add(row)
    else:
        row.value_enc, row.updated_at = sealed, now


async def remove(uow: UnitOfWork, name: str) -> bool:
    row = await uow.platform_secrets.get(name)
    if row is None:
        return False
    await uow.platform_secrets.remove(row)
    return True


async def names(uow: UnitOfWork) -> list[str]:
    return await uow.platform_secrets.names()
