"""``warta`` command line: serve, migrate, demo, and agency/key/template administration.

Every command builds one Settings from the environment and one Warta through
``bootstrap``; administration commands need no channels, so none are started.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from warta.bootstrap import Warta, bootstrap
from warta.errors import NotFound, WartaError
from warta.settings import Settings

T = TypeVar("T")


def _run(work: Callable[[Warta], Awaitable[T]]) -> T:
    async def main() -> T:
        app = await bootstrap(Settings(), channels={})
        try:
            return await work(app)
        finally:
            await app.aclose()

    try:
        return asyncio.run(main())
    except WartaError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def _emit(data: dict[str, Any] | list[Any], as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, indent=2) if as_json else text)


@click.group()
@click.version_option(package_name="warta")
def main() -> None:
    """Warta: public-service notifications for Indonesia (GOV.UK Notify v2 API)."""


@main.command()
@click.option("--host", default=None, help="Listen address (default: WARTA_HOST).")
@click.option("--port", type=int, default=None, help="Listen port (default: WARTA_PORT).")
@click.option("--workers/--no-workers", default=None, help="Run the embedded delivery workers.")
def serve(host: str | None, port: int | None, workers: bool | None) -> None:
    """Serve the API (and, by default, the embedded delivery workers)."""
    import uvicorn

    from warta.api.app import create_app
    from warta.logs import configure

    overrides: dict[str, Any] = {}
    if workers is not None:
        overrides["run_workers"] = workers
    settings = Settings(**overrides)
    configure(settings.log_level, as_json=settings.log_json)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=15,
    )


@main.command()
def worker() -> None:
    """Run delivery workers without the API (more processes or hosts for delivery).

    They find work with the sweeper: pair with `warta serve --no-workers` and a short
    WARTA_SWEEP_INTERVAL. Stops cleanly on SIGTERM or Ctrl-C, handing back unsent work.
    """
    from warta.logs import configure
    from warta.pipeline.worker import run_workers

    settings = Settings()
    configure(settings.log_level, as_json=settings.log_json)
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:  # uvloop is optional: plain asyncio works, a little slower
        runner = asyncio.Runner()
    with runner:
        runner.run(run_workers(settings))


@main.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    from warta.store.db import migrate as run_migrations

    run_migrations(Settings().effective_database_url)
    click.echo("database is up to date")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def demo(as_json: bool) -> None:
    """Create (once) a demo agency with an email and an SMS template; print its keys."""
    from warta.services.demo import ensure_demo

    info = _run(ensure_demo)
    text = "\n".join(f"{k:>18}: {v}" for k, v in info.items())
    _emit(info, as_json, "Demo agency (Instansi Demo)\n" + text)


@main.group()
def agency() -> None:
    """Agencies (instansi): the senders, Notify's 'services'."""


@agency.command("create")
@click.argument("name")
@click.option("--email-from", help="From address for email (default: derived from the name).")
@click.option("--sms-sender", help="SMS sender id, 3-11 letters or digits.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def agency_create(name: str, email_from: str | None, sms_sender: str | None, as_json: bool) -> None:
    """Create an agency with a live, a team and a test key."""
    from warta.services.admin import create_agency

    made = _run(lambda app: create_agency(app, name, email_from=email_from, sms_sender=sms_sender))
    data = {
        "id": str(made.id),
        "live_key": made.live_key,
        "team_key": made.team_key,
        "test_key": made.test_key,
    }
    _emit(data, as_json, "\n".join(f"{k}: {v}" for k, v in data.items()))


@agency.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def agency_list(as_json: bool) -> None:
    """List agencies."""

    async def work(app: Warta) -> list[dict[str, Any]]:
        async with app.uow() as uow:
            return [{"id": str(a.id), "name": a.name} for a in await uow.agencies.all()]

    rows = _run(work)
    _emit(rows, as_json, "\n".join(f"{r['id']}  {r['name']}" for r in rows))


@agency.command("callback")
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.option("--url", default=None, help="Delivery receipt URL; omit to remove.")
@click.option("--token", default=None, help="Bearer token sent with each callback.")
@click.option(
    "--inbound", is_flag=True, help="The callback for texts citizens send, not for receipts."
)
def agency_callback(
    agency_id: uuid.UUID, url: str | None, token: str | None, inbound: bool
) -> None:
    """Set or remove the agency's delivery-receipt (or --inbound text) callback."""
    from warta.services.admin import set_callback

    _run(lambda app: set_callback(app, agency_id, url, token, inbound=inbound))
    click.echo("callback removed" if not url else "callback set")


@agency.command("guest-list-add")
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.argument("recipient")
def agency_guest(agency_id: uuid.UUID, recipient: str) -> None:
    """Allow the agency's team key to send to RECIPIENT (phone or email)."""
    from warta.services.admin import add_to_guest_list

    _run(lambda app: add_to_guest_list(app, agency_id, recipient))
    click.echo("added to the guest list")


@main.group()
def key() -> None:
    """API keys."""


@key.command("create")
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.option("--type", "key_type", type=click.Choice(["normal", "team", "test"]), default="normal")
@click.option("--name", default="api key")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def key_create(agency_id: uuid.UUID, key_type: str, name: str, as_json: bool) -> None:
    """Create a key. The key string is shown once."""
    from warta.services.admin import create_key

    row, secret = _run(lambda app: create_key(app, agency_id, name, key_type))
    _emit({"id": str(row.id), "key": secret, "type": key_type}, as_json, secret)


@key.command("list")
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def key_list(agency_id: uuid.UUID, as_json: bool) -> None:
    """List an agency's keys (never their secrets)."""
    from warta.services.admin import list_keys

    keys = _run(lambda app: list_keys(app, agency_id))
    rows = [
        {
            "id": str(k.id),
            "name": k.name,
            "type": k.key_type,
            "created_at": k.created_at.isoformat(),
            "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
        }
        for k in keys
    ]
    lines = [
        f"{r['id']}  {r['type']:<6} {r['name']}" + ("  (revoked)" if r["revoked_at"] else "")
        for r in rows
    ]
    _emit(rows, as_json, "\n".join(lines))


@key.command("revoke")
@click.argument("key_id", type=click.UUID)
def key_revoke(key_id: uuid.UUID) -> None:
    """Revoke a key at once."""
    from warta.services.admin import revoke_key

    _run(lambda app: revoke_key(app, key_id))
    click.echo("revoked")


@main.group()
def staff() -> None:
    """People who sign in to the agency console (/console)."""


@staff.command("add")
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["admin", "editor", "sender", "viewer"]), required=True)
@click.password_option(help="First password (asked for when not given).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def staff_add(
    agency_id: uuid.UUID, email: str, name: str, role: str, password: str, as_json: bool
) -> None:
    """Add a person; they set up two-step verification at their first sign-in."""
    from warta.services import staff as people

    member = _run(
        lambda app: people.add(app, agency_id, email=email, name=name, role=role, password=password)
    )
    info = {"id": str(member.id), "email": member.email, "role": member.role}
    _emit(info, as_json, f"added {member.email} as {member.role}")


@staff.command("list")
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def staff_list(agency_id: uuid.UUID, as_json: bool) -> None:
    """The agency's team."""
    from warta.services import staff as people

    members = _run(lambda app: people.team(app, agency_id))
    rows = [{"id": str(m.id), "email": m.email, "name": m.name, "role": m.role} for m in members]
    _emit(rows, as_json, "\n".join(f"{m.role:>7}  {m.email}  {m.name}" for m in members))


@staff.command("reset")
@click.option("--email", required=True)
@click.password_option(help="New password (asked for when not given).")
@click.option("--totp/--keep-totp", "reset_totp", default=False, help="Also set up TOTP again.")
def staff_reset(email: str, password: str, reset_totp: bool) -> None:
    """A new password (and the lock lifted): for someone who forgot theirs."""
    from warta.services import staff as people

    _run(lambda app: people.reset_password(app, email, password, reset_totp=reset_totp))
    click.echo("reset: their sessions have ended")


@main.group()
def citizen() -> None:
    """The citizen registry."""


@citizen.command("import")
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--trust-contacts",
    is_flag=True,
    help="The agency verified these phones and emails itself: usable without a code.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write every row's outcome to this CSV (line, outcome, message, citizen_id).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def citizen_import(
    agency_id: uuid.UUID, csv_file: Path, trust_contacts: bool, report: Path | None, as_json: bool
) -> None:
    """Register citizens from a CSV (nik, name, region_code; optional phone, email,
    time_zone, language, channels as sms;email). Each row is checked on its own: bad rows
    are reported by line and the rest are imported. Exits 1 if any row failed."""
    import csv

    from warta.services.citizens import ImportedRow, check_import_header, import_row
    from warta.services.sending import Caller

    with csv_file.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
        header = list(rows[0].keys()) if rows else None
    if not rows:
        click.echo("error: the CSV has no rows", err=True)
        sys.exit(1)

    async def work(app: Warta) -> list[ImportedRow]:
        check_import_header(header)
        async with app.uow() as uow:
            found = await uow.agencies.get(agency_id)
        if found is None:
            raise NotFound(f"No agency with id {agency_id}")
        caller = Caller(agency=found, key_id=None, key_type="normal")
        results = []
        with click.progressbar(
            length=len(rows), label="Importing citizens", file=sys.stderr, show_pos=True
        ) as bar:
            for line, row in enumerate(rows, start=2):  # line 1 is the header
                results.append(
                    await import_row(app, caller, line, row, trust_contacts=trust_contacts)
                )
                bar.update(1)
        return results

    results = _run(work)
    if report is not None:
        with report.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["line", "outcome", "message", "citizen_id"])
            for r in results:
                writer.writerow([r.line, r.outcome, r.message, r.citizen_id or ""])
    counts = {k: sum(1 for r in results if r.outcome == k) for k in ("created", "linked", "error")}
    errors = [r for r in results if r.outcome == "error"]
    if as_json:
        summary = {**counts, "errors": [{"line": r.line, "message": r.message} for r in errors]}
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(
            f"{counts['created']} created, {counts['linked']} linked, {counts['error']} refused"
        )
        for r in errors:
            click.echo(f"line {r.line}: {r.message}")
    if errors:
        sys.exit(1)


@main.group()
def template() -> None:
    """Templates."""


@template.command("create")
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.option(
    "--type",
    "kind",
    type=click.Choice(["email", "sms", "multi"]),
    required=True,
    help="multi: an email part and an SMS part, for sends to citizens.",
)
@click.option("--name", required=True)
@click.option("--subject", default=None, help="Email subject (may hold placeholders).")
@click.option(
    "--body-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="UTF-8 file with the body (multi: the email body); ((placeholders)) allowed.",
)
@click.option(
    "--sms-body-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="multi only: UTF-8 file with the SMS body.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def template_create(
    agency_id: uuid.UUID,
    kind: str,
    name: str,
    subject: str | None,
    body_file: Path | None,
    sms_body_file: Path | None,
    as_json: bool,
) -> None:
    """Create a template (version 1)."""
    from warta.services.admin import create_template

    if body_file is None and kind != "multi":
        raise click.UsageError("--body-file is required for email and SMS templates")
    body = body_file.read_text(encoding="utf-8") if body_file else ""
    sms_body = sms_body_file.read_text(encoding="utf-8") if sms_body_file else None
    made = _run(
        lambda app: create_template(
            app, agency_id, kind=kind, name=name, subject=subject, body=body, sms_body=sms_body
        )
    )
    _emit({"id": str(made.id), "version": made.version}, as_json, str(made.id))


@template.command("update")
@click.argument("template_id", type=click.UUID)
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.option("--name", default=None)
@click.option("--subject", default=None)
@click.option("--body-file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sms-body-file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def template_update(
    template_id: uuid.UUID,
    agency_id: uuid.UUID,
    name: str | None,
    subject: str | None,
    body_file: Path | None,
    sms_body_file: Path | None,
    as_json: bool,
) -> None:
    """Edit a template; every edit makes a new version."""
    from warta.services.admin import update_template

    body = body_file.read_text(encoding="utf-8") if body_file else None
    sms_body = sms_body_file.read_text(encoding="utf-8") if sms_body_file else None
    made = _run(
        lambda app: update_template(
            app, agency_id, template_id, name=name, subject=subject, body=body, sms_body=sms_body
        )
    )
    _emit({"id": str(made.id), "version": made.version}, as_json, f"version {made.version}")


@template.command("list")
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def template_list(agency_id: uuid.UUID, as_json: bool) -> None:
    """List an agency's templates."""

    async def work(app: Warta) -> list[dict[str, Any]]:
        async with app.uow() as uow:
            return [
                {"id": str(t.id), "type": t.type, "name": t.name, "version": t.version}
                for t in await uow.templates.for_agency(agency_id, None)
            ]

    rows = _run(work)
    _emit(
        rows,
        as_json,
        "\n".join(f"{r['id']}  {r['type']:<5} v{r['version']}  {r['name']}" for r in rows),
    )


@main.group()
def keys() -> None:
    """The master key that encrypts personal data."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Make a new master key and re-encrypt every personal field under it."""
    from warta.services.rotation import rotate

    settings = Settings()
    count = _run(lambda app: rotate(app, settings))
    click.echo(f"re-encrypted {count} values under the new key")


@main.group()
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

    stored = set(_run(work))
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

    click.echo("removed" if _run(work) else f"{name} had no credentials")


def _store_channel(name: str, value: dict[str, Any]) -> None:
    from warta.services import platform

    async def work(app: Warta) -> None:
        async with app.uow() as uow:
            await platform.store(uow, app.keyring, name, value, app.clock())
            await uow.commit()

    _run(work)
    click.echo(f"{name} credentials stored (encrypted); restart serve and worker to use them")
