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
from typing import TYPE_CHECKING

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from warta.channels.base import Channel, ProviderEvents
from warta.channels.by_address import AddressRouter
from warta.channels.capture import CaptureHandler, CaptureSmtpServer, Outbox
from warta.channels.email_smtp import SmtpChannel
from warta.channels.fcm import FcmChannel, FcmConfig
from warta.channels.providers import parse_provider, parse_providers
from warta.channels.sms_http import HttpSmsChannel, callback_url
from warta.channels.sms_router import SmsProvider, SmsRouter
from warta.channels.telegram import TelegramChannel, TelegramConfig
from warta.channels.webpush import VapidKeys, WebPushChannel, WebPushConfig
from warta.channels.whatsapp import WhatsAppChannel, WhatsAppConfig
from warta.devpeers.running import DevPeers
from warta.domain.failover import Balancer
from warta.pipeline.queue import DatabaseOnlyQueue, EmbeddedQueue, WorkQueue
from warta.security.crypto import Keyring, load_keyring
from warta.services import platform
from warta.services.cache import Caches
from warta.services.quotas import Quotas
from warta.settings import Settings
from warta.store.db import make_engine, migrate
from warta.store.group_insert import GroupInsert
from warta.store.models import NOTIFICATIONS
from warta.store.uow import UnitOfWork, session_factory

if TYPE_CHECKING:
    from warta.channels.smsc import LocalSmsc

log = logging.getLogger(__name__)

#: The provider name of the development SMSC, in ``sms_parts`` and the dev outbox.
LOCAL_SMSC = "local-smsc"


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
    #: The development SMSC started when no SMS provider is configured.
    local_smsc: LocalSmsc | None = None
    #: Local push and chat services started for those without credentials (dev only).
    dev_peers: DevPeers | None = None
    #: The Web Push key pair: its public half is what the portal subscribes with.
    vapid: VapidKeys | None = None
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
        if self.local_smsc is not None:
            await self.local_smsc.stop()
        if self.dev_peers is not None:
            await self.dev_peers.stop()
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
    """Build a ready Warta. With no SMTP relay configured, start the capture server; with
    no SMS provider, the local SMSC."""
    # Imported here: the pipeline's modules import this one for the ``Warta`` type.
    from warta.pipeline.receipts import ProviderEventHandler

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
    events = ProviderEventHandler()
    http = http or httpx.AsyncClient(timeout=settings.callback_timeout)
    capture: CaptureSmtpServer | None = None
    smsc: LocalSmsc | None = None
    sms_providers: dict[str, Channel] = {}
    sessions = session_factory(engine)
    vapid = await _vapid_keys(sessions, keyring, clock())
    peers: DevPeers | None = None
    late = _Late()
    if channels is None:
        email, capture = await _email_channel(settings, outbox)
        sms, sms_providers, smsc = await _sms_channel(settings, outbox, events, http)
        peers = DevPeers() if settings.start_local_app_peers else None
        push, chat = await _app_channels(
            settings, sessions, keyring, http, vapid, peers, late, outbox
        )
        channels = {"email": email, "sms": sms, "push": push, "chat": chat}
    app = Warta(
        settings=settings,
        engine=engine,
        sessions=sessions,
        keyring=keyring,
        channels=channels,
        queue=queue or (EmbeddedQueue() if settings.run_workers else DatabaseOnlyQueue()),
        http=http,
        outbox=outbox,
        caches=Caches(settings.cache_seconds),
        new_notifications=GroupInsert(engine, NOTIFICATIONS),
        capture_smtp=capture,
        clock=clock,
        events=events,
        sms_providers=sms_providers,
        local_smsc=smsc,
        dev_peers=peers,
        vapid=vapid,
    )
    late.app = app
    events.attach(app)
    for channel in channels.values():
        start = getattr(channel, "start", None)
        if start is not None:  # bind now, so receipts and replies flow before any send
            await start()
    return app


async def _email_channel(
    settings: Settings, outbox: Outbox
) -> tuple[Channel, CaptureSmtpServer | None]:
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
    return email, capture


async def _sms_channel(
    settings: Settings, outbox: Outbox, events: ProviderEvents, http: httpx.AsyncClient
) -> tuple[Channel, dict[str, Channel], LocalSmsc | None]:
    """Every configured provider behind one failover router; none: the local SMSC."""
    # smpp34 starts a tokio runtime when loaded: only processes that send SMS load it.
    from warta.channels.sms_smpp import SmppChannel
    from warta.channels.smsc import LocalSmsc

    configs = parse_providers(settings.smpp_url, settings.sms_http_url)
    smsc = None
    if not configs:
        smsc = LocalSmsc(outbox, host="127.0.0.1", port=settings.local_smsc_port)
        host, port = await smsc.start()
        log.info("no SMS provider configured: local SMSC at smpp://%s:%s", host, port)
        configs = [parse_provider(f"smpp://warta:warta@{host}:{port}?name={LOCAL_SMSC}")]
    # Gateways need an address they can reach: set WARTA_PUBLIC_URL behind a proxy.
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    providers: dict[str, SmsProvider] = {}
    for config in configs:
        if config.kind == "smpp":
            providers[config.name] = SmppChannel.from_config(config, events)
        else:
            providers[config.name] = HttpSmsChannel.from_config(
                config, http, status_callback_url=callback_url(base, config.name)
            )
    balancer = Balancer({c.name: c.weight for c in configs})
    router = SmsRouter(list(providers.values()), balancer)
    return router, dict(providers), smsc


class _Late:
    """The Warta, for callbacks made before it exists (WhatsApp's window check)."""

    app: Warta | None = None

    async def whatsapp_window_open(self, number: str) -> bool:
        from warta.services.chat import whatsapp_window_open

        return self.app is not None and await whatsapp_window_open(self.app, number)


async def _vapid_keys(
    sessions: async_sessionmaker[AsyncSession], keyring: Keyring, now: datetime
) -> VapidKeys:
    """The Web Push key pair, made at first start and kept sealed: a new pair would orphan
    every subscription browsers made with the old one."""
    async with UnitOfWork(sessions) as uow:
        stored = await platform.load(uow, keyring, platform.VAPID)
        if stored is not None:
            return VapidKeys.from_pem(stored["pem"].encode())
        keys = VapidKeys.generate()
        await platform.store(uow, keyring, platform.VAPID, {"pem": keys.to_pem().decode()}, now)
        await uow.commit()
        return keys


async def _app_channels(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    keyring: Keyring,
    http: httpx.AsyncClient,
    vapid: VapidKeys,
    peers: DevPeers | None,
    late: _Late,
    outbox: Outbox,
) -> tuple[Channel, Channel]:
    """Push (Web Push always; FCM when set) and chat (Telegram, WhatsApp when set), each
    behind one router by address form. Services without credentials use local peers when
    ``settings.start_local_app_peers``, else are left out (routing skips their contacts)."""
    async with UnitOfWork(sessions) as uow:
        stored = {name: await platform.load(uow, keyring, name) for name in platform.SERVICES}
    push: dict[str, Channel] = {
        "webpush": WebPushChannel(vapid, WebPushConfig(subject=settings.vapid_subject), http)
    }
    chat: dict[str, Channel] = {}
    fcm, telegram, whatsapp = stored["fcm"], stored["telegram"], stored["whatsapp"]
    if fcm is None and peers is not None:
        fcm = await peers.firebase()
        log.info("no FCM credentials: local Firebase at %s", fcm["base_url"])
    if fcm is not None:
        base = fcm.pop("base_url", settings.fcm_url)
        push["fcm"] = FcmChannel(FcmConfig(fcm["service_account"], base_url=base), http)
    if telegram is None and peers is not None:
        telegram = await peers.telegram()
        log.info("no Telegram credentials: local Bot API at %s", telegram["base_url"])
    if telegram is not None:
        base = telegram.pop("base_url", settings.telegram_url)
        bot = TelegramChannel(TelegramConfig(**telegram, base_url=base), http)
        chat["telegram"] = bot
        if peers is not None and peers.telegram_peer is not None:  # the local Bot API
            warta_url = settings.public_url.rstrip("/") or f"http://{settings.host}:{settings.port}"
            await bot.set_webhook(f"{warta_url}/providers/telegram/webhook")
    if whatsapp is None and peers is not None:
        whatsapp = await peers.whatsapp()
        log.info("no WhatsApp credentials: local Cloud API at %s", whatsapp["base_url"])
    if whatsapp is not None:
        base = whatsapp.pop("base_url", settings.whatsapp_url)
        chat["whatsapp"] = WhatsAppChannel(
            WhatsAppConfig(**whatsapp, base_url=base),
            http,
            window_open=late.whatsapp_window_open,
        )
    shown = outbox if peers is not None else None  # make run: /dev/outbox shows them too
    return AddressRouter("push", push, shown), AddressRouter("chat", chat, shown)
