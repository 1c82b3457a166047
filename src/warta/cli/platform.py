"""The platform: rotating the secret key, and push and chat credentials."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from warta.cli.common import run
from warta.deps import Warta
from warta.errors import WartaError
from warta.settings import Settings


@click.group()
def keys() -> None:
    """The master key that encrypts personal data."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Make a new master key and re-encrypt every personal field under it."""
    from warta.services.rotation import rotate

    settings = Settings()
    count = run(lambda app: rotate(app, settings))
    click.echo(f"re-encrypted {count} values under the new key")


@click.group()
def channel() -> None:
    """Push and chat credentials, sealed in the store (restart `serve` and `worker` after)."""


def _secret_file(path: str) -> str:
    # Secrets come from files, not arguments: arguments end up in shell history and ps.
    with open(path, encoding="utf-8") as handle:
        return handle.read().strip()


@channel.command("set-fcm")
@click.option("--service-account-file", required=True, type=click.Path(exists=True))
def channel_set_fcm(service_account_file: str) -> None:
    """FCM HTTP v1: the service-account key file from the Firebase console."""
    from warta.channels.fcm import FcmConfig

    text = _secret_file(service_account_file)
    config = FcmConfig.from_json(text)  # refuses a file that cannot work, naming the field
    _store_channel("fcm", {"service_account": dict(config.service_account)})


@channel.command("set-telegram")
@click.option("--token-file", required=True, type=click.Path(exists=True))
@click.option("--username", required=True, help="The bot's username, for t.me links.")
@click.option(
    "--webhook-url",
    default=None,
    help="Public https URL of /providers/telegram/webhook; registered with Telegram now.",
)
def channel_set_telegram(token_file: str, username: str, webhook_url: str | None) -> None:
    """Telegram Bot API: the token BotFather gave."""
    import secrets as random_secrets

    from warta.channels.telegram import TelegramChannel, TelegramConfig

    value: dict[str, Any] = {
        "token": _secret_file(token_file),
        "username": username.removeprefix("@"),
        "webhook_secret": random_secrets.token_urlsafe(32),
    }
    settings = Settings()
    config = TelegramConfig(**value, base_url=settings.telegram_url)
    _store_channel("telegram", value)
    if webhook_url:

        async def register() -> None:
            bot = TelegramChannel(config)
            try:
                await bot.set_webhook(webhook_url)
            finally:
                await bot.aclose()

        try:
            asyncio.run(register())
        except WartaError as exc:
            click.echo(f"error: stored, but the webhook was not set: {exc}", err=True)
            sys.exit(1)
        click.echo("webhook registered with Telegram")


@channel.command("set-whatsapp")
@click.option("--access-token-file", required=True, type=click.Path(exists=True))
@click.option("--app-secret-file", required=True, type=click.Path(exists=True))
@click.option("--phone-number-id", required=True)
@click.option("--verify-token", required=True, help="What Meta echoes in hub.verify_token.")
@click.option("--template", default="warta_notifikasi", show_default=True)
@click.option("--language", default="id", show_default=True)
def channel_set_whatsapp(
    access_token_file: str,
    app_secret_file: str,
    phone_number_id: str,
    verify_token: str,
    template: str,
    language: str,
) -> None:
    """WhatsApp Cloud API: a system user's token, the app secret and the number's id."""
    from warta.channels.whatsapp import WhatsAppConfig

    value: dict[str, Any] = {
        "access_token": _secret_file(access_token_file),
        "app_secret": _secret_file(app_secret_file),
        "phone_number_id": phone_number_id,
        "verify_token": verify_token,
        "template": template,
        "language": language,
    }
    WhatsAppConfig(**value)  # refuses values that cannot work before storing them
    _store_channel("whatsapp", value)


@channel.command("list")
def channel_list() -> None:
    """Which services have credentials (never the credentials)."""
    from warta.services import platform

    async def work(app: Warta) -> list[str]:
        async with app.uow() as uow:
            return await platform.names(uow)

    stored = set(run(work))
    for name in platform.SERVICES:
        click.echo(f"{name}\t{'set' if name in stored else 'not set (local peer in dev)'}")


@channel.command("remove")
@click.argument("name", type=click.Choice(["fcm", "telegram", "whatsapp"]))
def channel_remove(name: str) -> None:
    from warta.services import platform

    async def work(app: Warta) -> bool:
        async with app.uow() as uow:
            removed = await platform.remove(uow, name)
            await uow.commit()
            return removed

    click.echo("removed" if run(work) else f"{name} had no credentials")


def _store_channel(name: str, value: dict[str, Any]) -> None:
    from warta.services import platform

    async def work(app: Warta) -> None:
        async with app.uow() as uow:
            await platform.store(uow, app.keyring, name, value, app.clock())
            await uow.commit()

    run(work)
    click.echo(f"{name} credentials stored (encrypted); restart serve and worker to use them")
