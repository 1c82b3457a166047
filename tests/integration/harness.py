"""A running Warta (API, embedded workers, real database, capture sinks) for tests."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from notifications_python_client.authentication import create_jwt_token

from tests.conftest import TEST_SECRET_KEY
from warta.api.app import create_app
from warta.bootstrap import Warta, bootstrap
from warta.channels.base import Channel
from warta.services.admin import create_agency, create_template
from warta.settings import Settings
from warta.store.models import Notification

SMS_BODY = "Halo ((nama)), antrean Anda nomor ((nomor))."
EMAIL_SUBJECT = "Dokumen ((jenis)) siap"
EMAIL_BODY = "Halo ((nama)),\n\nDokumen ((jenis)) Anda siap diambil."


def make_settings(database_url: str, var_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "var_dir": var_dir,
        "secret_key": TEST_SECRET_KEY,
        "sweep_interval": 0.2,
        "stuck_after": 2.0,
        "retry_base_delay": 0.05,
        "retry_max_delay": 0.2,
        "callback_base_delay": 0.05,
        "workers": 4,
    }
    values.update(overrides)
    return Settings(**values)


def auth_header(key: str) -> dict[str, str]:
    # The official Notify client's own token maker: what agencies really send.
    token = create_jwt_token(secret=key[-36:], client_id=key[-73:-37])
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Harness:
    api: FastAPI
    app: Warta
    client: httpx.AsyncClient
    agency_id: uuid.UUID
    keys: dict[str, str]
    sms_template: uuid.UUID
    email_template: uuid.UUID

    async def post(self, path: str, body: Any, key: str = "live") -> httpx.Response:
        return await self.client.post(path, json=body, headers=auth_header(self.keys[key]))

    async def get(self, path: str, key: str = "live", **params: Any) -> httpx.Response:
        return await self.client.get(
            path, params=params or None, headers=auth_header(self.keys[key])
        )

    async def send_sms(
        self, phone: str = "081234567890", key: str = "live", **extra: Any
    ) -> httpx.Response:
        body = {
            "phone_number": phone,
            "template_id": str(self.sms_template),
            "personalisation": {"nama": "Budi", "nomor": "7"},
            **extra,
        }
        return await self.post("/v2/notifications/sms", body, key)

    async def send_email(
        self, address: str = "budi@example.com", key: str = "live", **extra: Any
    ) -> httpx.Response:
        body = {
            "email_address": address,
            "template_id": str(self.email_template),
            "personalisation": {"nama": "Budi", "jenis": "KTP"},
            **extra,
        }
        return await self.post("/v2/notifications/email", body, key)

    async def row(self, notification_id: str | uuid.UUID) -> Notification:
        async with self.app.uow() as uow:
            found = await uow.session.get(Notification, uuid.UUID(str(notification_id)))
        assert found is not None
        return found

    async def wait_status(
        self, notification_id: str, *wanted: str, timeout: float = 10.0
    ) -> Notification:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            row = await self.row(notification_id)
            if row.status in wanted:
                return row
            if loop.time() > deadline:
                raise AssertionError(f"status stayed {row.status!r}, wanted one of {wanted}")
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running_warta(
    settings: Settings,
    *,
    channels: Mapping[str, Channel] | None = None,
    agency_name: str = "Dinas Uji",
) -> AsyncIterator[Harness]:
    async def build(s: Settings) -> Warta:
        return await bootstrap(s, channels=channels)

    api = create_app(settings, build=build)
    async with api.router.lifespan_context(api):
        app: Warta = api.state.warta
        made = await create_agency(
            app, agency_name, email_from="dinas@uji.go.id", sms_sender="DINASUJI"
        )
        sms = await create_template(
            app, made.id, kind="sms", name="antrean", subject=None, body=SMS_BODY
        )
        email = await create_template(
            app, made.id, kind="email", name="dokumen", subject=EMAIL_SUBJECT, body=EMAIL_BODY
        )
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://warta.test") as client:
            yield Harness(
                api=api,
                app=app,
                client=client,
                agency_id=made.id,
                keys={"live": made.live_key, "team": made.team_key, "test": made.test_key},
                sms_template=sms.id,
                email_template=email.id,
            )
