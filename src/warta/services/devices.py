"""A citizen's own device as a contact: the portal installed as an app subscribes to Web
Push, and the subscription becomes the citizen's push contact.

Verified at once, and the citizen's own (scope ``citizen``, proof ``device``), unlike a
phone or an address an agency adds: the subscription is made by the citizen's own browser
inside their signed-in session, so there is nobody else it could belong to, and a code
sent through it would only reach the same device. A subscription
made again (browsers renew them) revives the contact.

The endpoint is a URL Warta's workers will POST to, handed in by a stranger: it is checked
(https, a public address, the allowed push services) with the push channel's own rules
before anything is stored; the channel checks again at each send.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import TYPE_CHECKING, Any

from warta.channels.push_endpoints import check_endpoint
from warta.channels.webpush import WebPushChannel, parse_subscription
from warta.domain.channels import Routes
from warta.errors import InvalidInput, ProviderUnavailable, ValidationFailed
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
        parsed = parse_subscription(text)
        channel = _web_push(app)
        if channel is not None:
            await channel.check_endpoint(parsed.endpoint)
        else:  # no Web Push channel wired: the strictest rules
            await check_endpoint(parsed.endpoint)
    except InvalidInput as exc:
        raise ValidationFailed(exc.msgid, field=exc.field, **exc.values) from exc
    except ProviderUnavailable as exc:
        raise ValidationFailed("Push subscription endpoint's host cannot be found") from exc
    return await _device(app, citizen_id, text)


def _web_push(app: Warta) -> WebPushChannel | None:
    channel = app.channels.get("push")
    if isinstance(channel, Routes):
        channel = channel.services.get("webpush")
    return channel if isinstance(channel, WebPushChannel) else None


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
