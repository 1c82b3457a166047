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
from warta.errors import WartaError
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
def template() -> None:
    """Templates."""


@template.command("create")
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.option("--type", "kind", type=click.Choice(["email", "sms"]), required=True)
@click.option("--name", required=True)
@click.option("--subject", default=None, help="Email subject (may hold placeholders).")
@click.option(
    "--body-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="UTF-8 file with the body; ((placeholders)) allowed.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def template_create(
    agency_id: uuid.UUID, kind: str, name: str, subject: str | None, body_file: Path, as_json: bool
) -> None:
    """Create a template (version 1)."""
    from warta.services.admin import create_template

    body = body_file.read_text(encoding="utf-8")
    made = _run(
        lambda app: create_template(
            app, agency_id, kind=kind, name=name, subject=subject, body=body
        )
    )
    _emit({"id": str(made.id), "version": made.version}, as_json, str(made.id))


@template.command("update")
@click.argument("template_id", type=click.UUID)
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.option("--name", default=None)
@click.option("--subject", default=None)
@click.option("--body-file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def template_update(
    template_id: uuid.UUID,
    agency_id: uuid.UUID,
    name: str | None,
    subject: str | None,
    body_file: Path | None,
    as_json: bool,
) -> None:
    """Edit a template; every edit makes a new version."""
    from warta.services.admin import update_template

    body = body_file.read_text(encoding="utf-8") if body_file else None
    made = _run(
        lambda app: update_template(
            app, agency_id, template_id, name=name, subject=subject, body=body
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
