"""The composition root: the one place that builds engines, channels, queues and workers.

The API's lifespan, the CLI, the benchmarks and the tests all call ``bootstrap``; tests
pass fakes (channels, clock) as keyword arguments instead of patching modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from warta.channels.bounce_listener import BounceListener
from warta.channels.by_address import AddressRouter
from warta.channels.capture import CaptureHandler, CaptureSmtpServer
from warta.channels.email_dkim import DkimSigner
from warta.channels.email_smtp import SmtpChannel
from warta.channels.fcm import FcmChannel, FcmConfig
from warta.channels.providers import parse_provider, parse_providers
from warta.channels.sms_http import HttpSmsChannel, callback_url
from warta.channels.sms_router import SmsProvider, SmsRouter
from warta.channels.telegram import TelegramChannel, TelegramConfig
from warta.channels.webpush import VapidKeys, WebPushChannel, WebPushConfig
from warta.channels.whatsapp import WhatsAppChannel, WhatsAppConfig
from warta.deps import LOCAL_SMSC, Warta, WorkQueue, utc_now
from warta.devpeers.running import DevPeers
from warta.domain.channels import Channel, ChannelName, ProviderEvents, Startable
from warta.domain.failover import Balancer
from warta.pipeline.queue import DatabaseOnlyQueue, EmbeddedQueue
from warta.security.crypto import Keyring, load_keyring
from warta.services import bounce_mail, chat, platform
from warta.services.dkim import signing_keys
from warta.services.offload import ProcessOffload
from warta.services.provider_events import ProviderEventHandler
from warta.settings import Settings
from warta.store.cache import Caches
from warta.store.db import make_engine, migrate
from warta.store.group_insert import GroupInsert
from warta.store.models import NOTIFICATIONS
from warta.store.provider_health import ProviderHealth
from warta.store.quotas import SharedQuotas
from warta.store.shared import Notices, Shared, redis_client
from warta.store.uow import UnitOfWork, session_factory

log = logging.getLogger(__name__)


async def bootstrap(
    settings: Settings,
    *,
    channels: Mapping[ChannelName, Channel] | None = None,
    queue: WorkQueue | None = None,
    clock: Callable[[], datetime] = utc_now,
    http: httpx.AsyncClient | None = None,
    run_migrations: bool = True,
) -> Warta:
    """Build a ready Warta. With no SMTP relay configured, start the capture server; with
    no SMS provider, the local SMSC."""
    url = settings.effective_database_url
    if run_migrations:
        migrate(url)
    engine = make_engine(url, pool_size=settings.database_pool_size)
    keyring = load_keyring(
        secret_key=settings.secret_key,
        previous_keys=settings.previous_secret_keys,
        key_file=settings.var_dir / "keys" / "secret.key",
    )
    sessions = session_factory(engine)
    made, close_queue = (queue, None) if queue is not None else _queue(settings)
    vapid = await _vapid_keys(sessions, keyring, clock())
    app = Warta(
        settings=settings,
        engine=engine,
        sessions=sessions,
        keyring=keyring,
        channels={},
        queue=made,
        http=http or httpx.AsyncClient(timeout=settings.callback_timeout),
        caches=Caches(settings.cache_seconds),
        new_notifications=GroupInsert(engine, NOTIFICATIONS),
        clock=clock,
        vapid_public_key=vapid.public_key_b64url,
        offload=ProcessOffload(settings.upload_workers) if settings.upload_workers else None,
    )
    if app.offload is not None:
        app.closers.append(app.offload.aclose)
    if close_queue is not None:
        app.closers.append(close_queue)
    # The handler is made from the Warta, and the SMS channels from the handler: the
    # channels join ``app.channels`` below, before anything can send or receive.
    events = ProviderEventHandler(app)
    app.events = events
    if channels is None:
        channels = await _channels(app, events, vapid)
    app.channels.update(channels)
    if settings.redis_url:
        await _share_state(app)
    for channel in channels.values():
        if isinstance(channel, Startable):  # bind now, so receipts and replies flow
            await channel.start()
    return app


async def start_bounce_listener(app: Warta) -> tuple[str, int] | None:
    """The SMTP listener for the bounce domain, where it is; None without one. Called by
    `warta serve` (the API's lifespan) only: a worker or a CLI command must not take the
    MX's port. With email going to the local capture server it listens on 127.0.0.1
    under bounces.localhost (``Settings.effective_bounce_domain``)."""
    settings = app.settings
    domain = settings.effective_bounce_domain
    if not domain:
        return None
    listener = BounceListener(
        domain=domain,
        accepts=functools.partial(bounce_mail.accepts, app),
        receive=functools.partial(bounce_mail.receive, app),
        host=settings.bounce_smtp_host if settings.bounce_domain else "127.0.0.1",
        port=settings.bounce_smtp_port,
    )
    host, port = await listener.start()
    app.closers.append(listener.stop)
    log.info("bounce listener for %s at %s:%s", domain, host, port)
    return host, port


def _queue(settings: Settings) -> tuple[WorkQueue, Callable[[], Awaitable[None]] | None]:
    """Celery over RabbitMQ when a broker is set (docs/scale-out.md); else the embedded
    pool's queue, or none for an API whose workers run elsewhere. Also how to close it."""
    if settings.broker_url:  # Celery is loaded only by processes that use it
        from warta.pipeline.celery_queue import CeleryQueue, make_celery

        published = CeleryQueue(make_celery(settings), settings)
        return published, published.aclose
    return (EmbeddedQueue() if settings.run_workers else DatabaseOnlyQueue()), None


async def _share_state(app: Warta) -> None:
    """Limits, cache invalidation and SMS provider health in Redis, for every process."""
    shared = Shared(redis_client(app.settings.redis_url), app.settings.namespace)
    notices = Notices(shared)
    app.quotas = SharedQuotas(shared)
    app.caches.share(notices)
    sms = app.channels.get("sms")
    if isinstance(sms, SmsRouter):
        ProviderHealth(shared, notices).watch(sms.balancer)
    notices.start()
    app.closers += [notices.aclose, shared.aclose]
    # Serve once subscribed, so a change made elsewhere from now on reaches this process;
    # a Redis that is down does not hold the start up (fail open: ``store.shared``).
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(notices.listening.wait(), 1.0)


async def _channels(
    app: Warta, events: ProviderEvents, vapid: VapidKeys
) -> dict[ChannelName, Channel]:
    """The real channels, or local stand-ins for those without a provider."""
    email = await _email_channel(app)
    sms = await _sms_channel(app, events)
    if app.settings.start_local_app_peers:
        app.local_peers = DevPeers()
        app.closers.append(app.local_peers.stop)
    push, chat_router = await _app_channels(app, vapid)
    return {"email": email, "sms": sms, "push": push, "chat": chat_router}


async def _email_channel(app: Warta) -> Channel:
    settings = app.settings
    signer = await _dkim_signer(app)
    if settings.smtp_url:
        return SmtpChannel.from_url(
            settings.smtp_url,
            pool_size=settings.smtp_pool_size,
            timeout=settings.smtp_timeout,
            signer=signer,
        )
    capture = CaptureSmtpServer(
        CaptureHandler(app.outbox), host="127.0.0.1", port=settings.capture_smtp_port
    )
    host, port = await capture.start()
    app.closers.append(capture.stop)
    log.info("no SMTP relay configured: capturing email at %s:%s", host, port)
    return SmtpChannel(
        host=host,
        port=port,
        pool_size=settings.smtp_pool_size,
        start_tls=False,
        local_hostname="localhost",  # skip a getfqdn() DNS look-up per connection
        signer=signer,  # make run's email is signed too, when its domain has a key
    )


async def _dkim_signer(app: Warta) -> DkimSigner:
    """The DKIM keys from the store, loaded now and again on the first send after
    WARTA_CACHE_SECONDS, so a key made by `warta agency dkim` signs within that time."""
    signer = DkimSigner(
        functools.partial(signing_keys, app), refresh_seconds=app.settings.cache_seconds
    )
    await signer.reload()
    return signer


async def _sms_channel(app: Warta, events: ProviderEvents) -> Channel:
    """Every configured provider behind one failover router; none: the local SMSC.
    Sets ``app.sms_providers`` (their webhooks) and ``app.local_smsc``."""
    # smpp34 starts a tokio runtime when loaded: only processes that send SMS load it.
    from warta.channels.sms_smpp import SmppChannel
    from warta.channels.smsc import LocalSmsc

    settings = app.settings
    configs = parse_providers(settings.smpp_url, settings.sms_http_url)
    if not configs:
        smsc = LocalSmsc(app.outbox, host="127.0.0.1", port=settings.local_smsc_port)
        host, port = await smsc.start()
        app.local_smsc = smsc
        app.closers.append(smsc.stop)
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
                config, app.http, status_callback_url=callback_url(base, config.name)
            )
    app.sms_providers = dict(providers)
    balancer = Balancer({c.name: c.weight for c in configs})
    return SmsRouter(list(providers.values()), balancer)


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


async def _app_channels(app: Warta, vapid: VapidKeys) -> tuple[Channel, Channel]:
    """Push (Web Push always; FCM when set) and chat (Telegram, WhatsApp when set), each
    behind one router by address form. Services without credentials use local peers when
    ``settings.start_local_app_peers``, else are left out (routing skips their contacts)."""
    settings, http, peers = app.settings, app.http, app.local_peers
    async with app.uow() as uow:
        stored = {name: await platform.load(uow, app.keyring, name) for name in platform.SERVICES}
    web_push = WebPushConfig(
        subject=settings.vapid_subject,
        hosts=frozenset(h.strip().lower() for h in settings.push_hosts.split(",") if h.strip()),
        # Development only: the local push service of `make run` is http on 127.0.0.1.
        allow_local=settings.start_local_app_peers,
    )
    push: dict[str, Channel] = {"webpush": WebPushChannel(vapid, web_push, http)}
    chats: dict[str, Channel] = {}
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
        chats["telegram"] = bot
        if peers is not None and peers.telegram_peer is not None:  # the local Bot API
            warta_url = settings.public_url.rstrip("/") or f"http://{settings.host}:{settings.port}"
            await bot.set_webhook(f"{warta_url}/providers/telegram/webhook")
    if whatsapp is None and peers is not None:
        whatsapp = await peers.whatsapp()
        log.info("no WhatsApp credentials: local Cloud API at %s", whatsapp["base_url"])
    if whatsapp is not None:
        base = whatsapp.pop("base_url", settings.whatsapp_url)
        chats["whatsapp"] = WhatsAppChannel(
            WhatsAppConfig(**whatsapp, base_url=base),
            http,
            window_open=functools.partial(chat.whatsapp_window_open, app),
        )
    shown = app.outbox if peers is not None else None  # make run: /dev/outbox shows them too
    return AddressRouter("push", push, shown), AddressRouter("chat", chats, shown)
