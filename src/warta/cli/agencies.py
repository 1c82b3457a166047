"""Agency administration: agencies, their API keys and templates."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import click

from warta.cli.common import emit, run
from warta.deps import Warta


@click.group()
def agency() -> None:
    """Agencies (instansi): the senders, Notify's 'services'."""


@agency.command("create")
@click.argument("name")
@click.option("--email-from", help="From address for email (default: derived from the name).")
@click.option(
    "--sms-sender",
    help="Its own SMS sender id: 3-11 letters or digits, no other agency's (in any case) "
    "and not WARTA. Without one it sends from WARTA, and replies to WARTA reach it when it "
    "was the last to text that number.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def agency_create(name: str, email_from: str | None, sms_sender: str | None, as_json: bool) -> None:
    """Create an agency with a live, a team and a test key."""
    from warta.services.admin import create_agency

    made = run(lambda app: create_agency(app, name, email_from=email_from, sms_sender=sms_sender))
    data = {
        "id": str(made.id),
        "live_key": made.live_key,
        "team_key": made.team_key,
        "test_key": made.test_key,
    }
    emit(data, as_json, "\n".join(f"{k}: {v}" for k, v in data.items()))


@agency.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def agency_list(as_json: bool) -> None:
    """List agencies."""

    async def work(app: Warta) -> list[dict[str, Any]]:
        async with app.uow() as uow:
            return [{"id": str(a.id), "name": a.name} for a in await uow.agencies.all()]

    rows = run(work)
    emit(rows, as_json, "\n".join(f"{r['id']}  {r['name']}" for r in rows))


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

    run(lambda app: set_callback(app, agency_id, url, token, inbound=inbound))
    click.echo("callback removed" if not url else "callback set")


@agency.command("guest-list-add")
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.argument("recipient")
def agency_guest(agency_id: uuid.UUID, recipient: str) -> None:
    """Allow the agency's team key to send to RECIPIENT (phone or email)."""
    from warta.services.admin import add_to_guest_list

    run(lambda app: add_to_guest_list(app, agency_id, recipient))
    click.echo("added to the guest list")


@agency.command("office-hours")
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.option("--zone", default="WIB", show_default=True, help="WIB, WITA or WIT.")
@click.option("--open", "opens", default="08:00", show_default=True, help="HH:MM, local time.")
@click.option("--close", "closes", default="16:00", show_default=True, help="HH:MM, local time.")
def agency_office_hours(agency_id: uuid.UUID, zone: str, opens: str, closes: str) -> None:
    """When the agency's staff answer chats handed to them (Monday to Friday): outside
    these hours the chatbot tells the citizen when someone will answer."""
    from warta.services.chatbot.handoff import set_office_hours

    run(lambda app: set_office_hours(app, agency_id, zone, opens, closes))
    click.echo(f"office hours {opens}-{closes} {zone.strip().upper()}, Monday to Friday")


def _dkim_owner(agency_id: uuid.UUID | None, own: bool) -> uuid.UUID | None:
    if (agency_id is None) == (not own):
        raise click.UsageError("give either --agency ID or --own (Warta's own domain)")
    return agency_id


@agency.command("dkim")
@click.option("--agency", "agency_id", type=click.UUID, default=None)
@click.option("--own", is_flag=True, help="A key for Warta's own domain (WARTA_EMAIL_FROM_DOMAIN).")
@click.option("--domain", default=None, help="The sending domain (default: the From address's).")
@click.option("--selector", default=None, help="Default: warta + year and month (warta202612).")
@click.option(
    "--overlap-days",
    type=click.IntRange(min=0),
    default=7,
    show_default=True,
    help="Days the domain's previous key signs beside the new one (time to publish its record).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def agency_dkim(
    agency_id: uuid.UUID | None,
    own: bool,
    domain: str | None,
    selector: str | None,
    overlap_days: int,
    as_json: bool,
) -> None:
    """Make a DKIM key for a sending domain and print the TXT record to publish. Another
    key for the same domain is a rotation: it signs from now on."""
    from datetime import timedelta

    from warta.services.dkim import make_key

    owner = _dkim_owner(agency_id, own)
    overlap = timedelta(days=overlap_days)
    made = run(lambda app: make_key(app, owner, domain, selector, overlap))
    record = made.record
    text = "\n".join(f"{k}: {v}" for k, v in record.as_dict().items())
    emit(record.as_dict(), as_json, f"{text}\n\nzone file:\n{record.zone_file_line()}")
    for note in made.notes:
        click.echo(f"note: {note}", err=True)


@agency.command("dkim-list")
@click.option("--agency", "agency_id", type=click.UUID, default=None)
@click.option("--own", is_flag=True, help="Warta's own keys.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def agency_dkim_list(agency_id: uuid.UUID | None, own: bool, as_json: bool) -> None:
    """The DKIM keys and their records, retired ones too (keep those published a week)."""
    from warta.services.dkim import list_keys

    owner = _dkim_owner(agency_id, own)
    keys = run(lambda app: list_keys(app, owner))
    rows: list[dict[str, str | None]] = [
        {
            **k.record.as_dict(),
            "created_at": k.created_at.isoformat(),
            "retired_at": k.retired_at.isoformat() if k.retired_at else None,
        }
        for k in keys
    ]
    lines = [
        f"{r['dns_name']}" + (f"  (signing ends {r['retired_at']})" if r["retired_at"] else "")
        for r in rows
    ]
    emit(rows, as_json, "\n".join(lines))


@click.group()
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

    row, secret = run(lambda app: create_key(app, agency_id, name, key_type))
    emit({"id": str(row.id), "key": secret, "type": key_type}, as_json, secret)


@key.command("list")
@click.option("--agency", "agency_id", type=click.UUID, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def key_list(agency_id: uuid.UUID, as_json: bool) -> None:
    """List an agency's keys (never their secrets)."""
    from warta.services.admin import list_keys

    keys = run(lambda app: list_keys(app, agency_id))
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
    emit(rows, as_json, "\n".join(lines))


@key.command("revoke")
@click.argument("key_id", type=click.UUID)
def key_revoke(key_id: uuid.UUID) -> None:
    """Revoke a key at once."""
    from warta.services.admin import revoke_key

    run(lambda app: revoke_key(app, key_id))
    click.echo("revoked")


@click.group()
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
    made = run(
        lambda app: create_template(
            app, agency_id, kind=kind, name=name, subject=subject, body=body, sms_body=sms_body
        )
    )
    emit({"id": str(made.id), "version": made.version}, as_json, str(made.id))


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
    made = run(
        lambda app: update_template(
            app, agency_id, template_id, name=name, subject=subject, body=body, sms_body=sms_body
        )
    )
    emit({"id": str(made.id), "version": made.version}, as_json, f"version {made.version}")


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

    rows = run(work)
    emit(
        rows,
        as_json,
        "\n".join(f"{r['id']}  {r['type']:<5} v{r['version']}  {r['name']}" for r in rows),
    )
