"""A citizen's own device as a contact: the portal installed as an app subscribes to Web
Push, and the subscription becomes the citizen's push contact.

Verified at once, and the citizen's own (scope ``citizen``, proof ``device``), unlike a
phone or an address an agency adds: the subscription is made by the citizen's own browser
inside their signed-in session, so there is nobody else it could belong to, and a code
sent through it would only reach the same device. A subscription
made again (browsers renew them) revives the contact.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import TYPE_CHECKING, Any

from warta.channels.webpush import parse_subscription
from warta.errors import InvalidInput, ValidationFailed
from warta.services import citizens

if TYPE_CHECKING:
    from warta.deps import Warta


#: What FCM registration tokens are made of (base64url and a colon), with room to spare.
_FCM_TOKEN = re.compile(r"[A-Za-z0-9_:-]{20,4096}")


async def add_push_subscription(
    app: Warta, citizen_id: uuid.UUID, subscription: dict[str, Any]
) -> uuid.UUID:
    """Store a PushSubscription (as ``pushManager.subscribe`` gave it) as a verified push
    contact; returns the contact's id."""
    text = json.dumps(
        {"endpoint": subscription.get("endpoint"), "keys": subscription.get("keys")},
        sort_keys=True,
    )
    try:
        parse_subscription(text)
    except InvalidInput as exc:
        raise ValidationFailed(exc.msgid, field=exc.field, **exc.values) from exc
    return await _device(app, citizen_id, text)


async def add_fcm_token(app: Warta, citizen_id: uuid.UUID, token: str) -> uuid.UUID:
    """The official app's FCM registration token, sent by the app once signed in."""
    if not _FCM_TOKEN.fullmatch(token):
        raise ValidationFailed("token is not an FCM registration token")
    return await _device(app, citizen_id, f"fcm:{token}")


async def _device(app: Warta, citizen_id: uuid.UUID, text: str) -> uuid.UUID:
    async with app.uow() as uow:
        contact = await citizens.proven_contact(
            app, uow, citizen_id, "push", text, app.clock(), proof="device"
        )
        await uow.commit()
        return contact.id
