"""The local peers ``make run`` starts for the push and chat services that have no
credentials, and the credentials Warta uses to reach them.

Each peer serves on 127.0.0.1 on a free port for the life of the process; what they
received is what /dev/outbox shows for push and chat.
"""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

from warta.devpeers.fcm import FakeFirebase
from warta.devpeers.push_service import PushService
from warta.devpeers.whatsapp import GraphLike


class DevPeers:
    def __init__(self) -> None:
        self._stack = contextlib.AsyncExitStack()
        self.firebase_peer: FakeFirebase | None = None
        self.graph_peer: GraphLike | None = None
        self.telegram_peer: Any = None
        #: Where browsers of the demo citizens "subscribe": pushes are decrypted here.
        self.push_peer: PushService | None = None

    async def push_service(self) -> PushService:
        if self.push_peer is None:
            self.push_peer = await self._stack.enter_async_context(PushService().running())
        return self.push_peer

    async def firebase(self) -> dict[str, Any]:
        """FCM credentials (a service-account key file) for the local Firebase."""
        peer = await self._stack.enter_async_context(FakeFirebase().running())
        self.firebase_peer = peer
        return {"service_account": peer.service_account(), "base_url": peer.url}

    async def whatsapp(self) -> dict[str, Any]:
        peer = await self._stack.enter_async_context(GraphLike().running())
        self.graph_peer = peer
        return {
            "access_token": peer.access_token,
            "phone_number_id": peer.phone_number_id,
            "app_secret": peer.app_secret,
            "verify_token": secrets.token_urlsafe(16),
            "base_url": peer.url,
        }

    async def telegram(self) -> dict[str, Any]:
        from warta.devpeers.telegram import BotApi

        peer = await self._stack.enter_async_context(BotApi().running())
        self.telegram_peer = peer
        return {
            "token": peer.token,
            "username": peer.username,
            "webhook_secret": secrets.token_urlsafe(24),
            "base_url": peer.url,
        }

    async def stop(self) -> None:
        await self._stack.aclose()
