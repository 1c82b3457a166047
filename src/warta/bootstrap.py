"""The composition root: the one place that builds engines, channels, queues and workers.

The API's lifespan, the CLI, the benchmarks and the tests all call ``bootstrap``; tests
pass fakes (channels, clock) as keyword arguments instead of patching modules.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from warta.channels.base import Channel, ProviderEvents
from warta.channels.capture import CaptureHandler, CaptureSmtpServer, Outbox, RecordingChannel
from warta.channels.email_smtp import SmtpChannel
from warta.pipeline.queue import DatabaseOnlyQueue, EmbeddedQueue, WorkQueue
from warta.security.crypto import Keyring, load_keyring
from warta.services.cache import Caches
from warta.services.quotas import Quotas
from warta.settings import Settings
from warta.store.db import make_engine, migrate
from warta.store.group_insert import GroupInsert
from warta.store.models import NOTIFICATIONS
from warta.store.uow import UnitOfWork, session_factory

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Warta:
    """Everything a request handler or task needs, built once per process."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    keyring: Keyring
    channels: Mapping[str, Channel]
    queue: WorkQueue
    http: httpx.AsyncClient
    outbox: Outbox
    caches: Caches
    new_notifications: GroupInsert
    capture_smtp: CaptureSmtpServer | None = None
    #: Where channels report receipts and inbound texts (``services.provider_events``).
    events: ProviderEvents | None = None
    #: Every SMS provider by name, for its webhooks and for failover.
    sms_providers: Mapping[str, Channel] = field(default_factory=dict)
    clock: Callable[[], datetime] = utc_now
    random: Callable[[], float] = random.random
    quotas: Quotas = field(default_factory=Quotas)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    async def aclose(self) -> None:
        for channel in self.channels.values():
            await channel.aclose()
        if self.capture_smtp is not None:
            await self.capture_smtp.stop()
        await self.http.aclose()
        await self.engine.dispose()


async def bootstrap(
    settings: Settings,
    *,
    channels: Mapping[str, Channel] | None = None,
    queue: WorkQueue | None = None,
    clock: Callable[[], datetime] = utc_now,
    http: httpx.AsyncClient | None = None,
    run_migrations: bool = True,
) -> Warta:
    """Build a ready Warta. With no SMTP relay configured, start the capture server."""
    url = settings.effective_database_url
    if run_migrations:
        migrate(url)
    engine = make_engine(url, pool_size=settings.database_pool_size)
    keyring = load_keyring(
        secret_key=settings.secret_key,
        previous_keys=settings.previous_secret_keys,
        key_file=settings.var_dir / "keys" / "secret.key",
    )
    # Captured messages stay in memory only: they hold personal data.
    outbox = Outbox()
    capture: CaptureSmtpServer | None = None
    if channels is None:
        channels, capture = await _default_channels(settings, outbox)
    app = Warta(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        keyring=keyring,
        channels=channels,
        queue=queue or (EmbeddedQueue() if settings.run_workers else DatabaseOnlyQueue()),
        http=http or httpx.AsyncClient(timeout=settings.callback_timeout),
        outbox=outbox,
        caches=Caches(settings.cache_seconds),
        new_notifications=GroupInsert(engine, NOTIFICATIONS),
        capture_smtp=capture,
        clock=clock,
    )
    return app


async def _default_channels(
    settings: Settings, outbox: Outbox
) -> tuple[dict[str, Channel], CaptureSmtpServer | None]:
    capture = None
    if settings.smtp_url:
        email = SmtpChannel.from_url(
            settings.smtp_url, pool_size=settings.smtp_pool_size, timeout=settings.smtp_timeout
        )
    else:
        capture = CaptureSmtpServer(
            CaptureHandler(outbox), host="127.0.0.1", port=settings.capture_smtp_port
        )
        host, port = await capture.start()
        log.info("no SMTP relay configured: capturing email at %s:%s", host, port)
        email = SmtpChannel(
            host=host,
            port=port,
            pool_size=settings.smtp_pool_size,
            start_tls=False,
            local_hostname="localhost",  # skip a getfqdn() DNS look-up per connection
        )
    return {"email": email, "sms": RecordingChannel("sms", outbox)}, capture
